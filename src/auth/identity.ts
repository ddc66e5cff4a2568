import { ALL_PROJECTS } from "../domain/project.js";
import { CronError } from "../domain/cron-error.js";

/** What a caller may do: `reader` reads, `editor` also writes, `admin` also acts across projects (project `*`). */
export type Role = "reader" | "editor" | "admin";
/** Every role, weakest first. */
export const ROLES: readonly Role[] = ["reader", "editor", "admin"];
/** How the server authenticates callers (`AUTH_MODE`). */
export type AuthMode = "none" | "jwt" | "api_key" | "basic";
/** Every auth mode. */
export const AUTH_MODES: readonly AuthMode[] = ["none", "jwt", "api_key", "basic"];

/** Who makes a call: set by the authentication interceptor, read by the services. */
export interface Identity {
  /** The user: JWT `sub`, API key name, basic-auth user; the actor header (or "anonymous") without auth. */
  subject: string;
  /** The caller's project, or {@link ALL_PROJECTS}. */
  projectId: string;
  roles: Role[];
  authMode: AuthMode;
}

/** What an RPC needs: reading or writing. */
export type Access = "read" | "write";

/** The identity of every caller when authentication is off: an admin of every project. */
export function anonymousIdentity(subject: string): Identity {
  return { subject: subject || "anonymous", projectId: ALL_PROJECTS, roles: ["admin"], authMode: "none" };
}

/** True for a known role name. */
export function isRole(value: unknown): value is Role {
  return typeof value === "string" && (ROLES as readonly string[]).includes(value);
}

/**
 * The roles named by a claim: an array of names or one string of names separated by spaces or
 * commas. Unknown names are dropped (a token may carry roles of other services).
 */
export function rolesOf(claim: unknown): Role[] {
  const names = Array.isArray(claim) ? claim : typeof claim === "string" ? claim.split(/[\s,]+/) : [];
  return [...new Set(names.filter(isRole))];
}

/**
 * Whether an identity may make a call needing `access`: any role reads; writing needs `editor`
 * or `admin`. Returns the `permission_denied` error to throw, or undefined when allowed.
 */
export function authorize(identity: Identity, access: Access): CronError | undefined {
  if (identity.roles.length === 0) return new CronError("permission_denied", `${identity.subject} has no role`);
  if (access === "read" || identity.roles.some((r) => r === "editor" || r === "admin")) return undefined;
  return new CronError("permission_denied", `${identity.subject} may only read (role ${identity.roles.join(", ")})`);
}

/**
 * The problem with a project for the given roles, or undefined: a project is required, and
 * {@link ALL_PROJECTS} belongs to admins only.
 */
export function projectProblem(projectId: string, roles: Role[]): string | undefined {
  if (!projectId) return "names no project";
  if (projectId === ALL_PROJECTS && !roles.includes("admin")) return `project ${ALL_PROJECTS} needs the admin role`;
  return undefined;
}
