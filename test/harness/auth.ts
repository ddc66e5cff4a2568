import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Role } from "../../src/auth/identity.js";
import { makeApiKey, makeBasicUser, makeJwt, makeKeyPair } from "../../deploy/make-token.js";

/** The ways a test node can authenticate: each JWT key kind, API keys and basic auth. */
export type AuthKind = "jwt-hs256" | "jwt-rs256" | "jwt-es256" | "api_key" | "basic";
/** Every auth kind, for tables. */
export const AUTH_KINDS: AuthKind[] = ["jwt-hs256", "jwt-rs256", "jwt-es256", "api_key", "basic"];

/** One user of an {@link AuthSetup}. */
export interface TestUser {
  subject: string;
  project: string;
  role: Role;
  /** The request headers carrying this user's credentials. */
  headers: Record<string, string>;
  /** The credential itself (token, key or password), to check that it leaks nowhere. */
  secret: string;
}

/** A node's authentication: its environment and users of every role in project `p1` (and an admin of `*`). */
export interface AuthSetup {
  kind: AuthKind;
  env: Record<string, string>;
  /** The scheme a 401 names in `WWW-Authenticate`. */
  scheme: string;
  /** Every role in {@link TEST_PROJECT}, an admin of every project, and an editor of {@link OTHER_PROJECT}. */
  users: Record<Role | "superadmin" | "intruder", TestUser>;
  /** Headers with credentials of the right shape that the server must refuse. */
  forged: Record<string, string>;
  dispose(): void;
}

/** The project of the test users. */
export const TEST_PROJECT = "p1";
/** The project of the intruder: an editor who must not see or touch anything of {@link TEST_PROJECT}. */
export const OTHER_PROJECT = "p2";
/** Cheap scrypt for tests (the hash names its parameters; production uses the default). */
const TEST_SCRYPT = { ln: 10, r: 8, p: 1 };
/** A shared secret of the HS256 kind: 32 bytes and more, as RFC 7518 requires. */
export const TEST_JWT_SECRET = "test-jwt-secret-0123456789-abcdefghijklmnop";

const ROLES: [Role | "superadmin" | "intruder", Role, string][] = [
  ["reader", "reader", TEST_PROJECT],
  ["editor", "editor", TEST_PROJECT],
  ["admin", "admin", TEST_PROJECT],
  ["superadmin", "admin", "*"],
  ["intruder", "editor", OTHER_PROJECT],
];

/** Writes the key material of one auth kind to a temporary folder and returns its settings and users. */
export async function authSetup(kind: AuthKind): Promise<AuthSetup> {
  const dir = mkdtempSync(join(tmpdir(), "cronmesh-auth-"));
  const file = (name: string, value: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(value));
    return path;
  };
  const dispose = () => rmSync(dir, { recursive: true, force: true });
  if (kind === "api_key") return { ...(await apiKeySetup(file)), dispose };
  if (kind === "basic") return { ...(await basicSetup(file)), dispose };
  return { ...(await jwtSetup(kind, file)), dispose };
}

type Writer = (name: string, value: unknown) => string;
type Partial = Omit<AuthSetup, "dispose">;

async function jwtSetup(kind: "jwt-hs256" | "jwt-rs256" | "jwt-es256", file: Writer): Promise<Partial> {
  const pair = kind === "jwt-hs256" ? undefined : await makeKeyPair(kind === "jwt-rs256" ? "RS256" : "ES256");
  const env: Record<string, string> = pair
    ? { AUTH_MODE: "jwt", AUTH_JWKS_FILE: file("jwks.json", pair.jwks) }
    : { AUTH_MODE: "jwt", AUTH_JWT_SECRET: TEST_JWT_SECRET };
  const sign = (sub: string, project: string, role: Role) => makeJwt({ secret: TEST_JWT_SECRET, key: pair?.privateJwk, sub, project, roles: [role] });
  const users = {} as AuthSetup["users"];
  for (const [name, role, project] of ROLES) {
    const token = await sign(`${name}-user`, project, role);
    users[name] = { subject: `${name}-user`, project, role, headers: { authorization: `Bearer ${token}` }, secret: token };
  }
  // Signed with another key: a JWKS kind gets an HS256 token (algorithm confusion), HS256 another secret.
  const forged = pair
    ? await makeJwt({ secret: TEST_JWT_SECRET, sub: "mallory", project: TEST_PROJECT, roles: ["admin"] })
    : await makeJwt({ secret: `${TEST_JWT_SECRET}-other`, sub: "mallory", project: TEST_PROJECT, roles: ["admin"] });
  return { kind, env, scheme: "Bearer", users, forged: { authorization: `Bearer ${forged}` } };
}

/** API keys are sent in each accepted form: x-api-key, `Authorization: ApiKey` and `Authorization: Bearer`. */
async function apiKeySetup(file: Writer): Promise<Partial> {
  const users = {} as AuthSetup["users"];
  const entries: Record<string, string>[] = [];
  const forms = [(k: string) => ({ "x-api-key": k }), (k: string) => ({ authorization: `ApiKey ${k}` }), (k: string) => ({ authorization: `Bearer ${k}` })];
  ROLES.forEach(([name, role, project], i) => {
    const { key, entry } = makeApiKey(`${name}-user`, project, role);
    entries.push(entry);
    users[name] = { subject: `${name}-user`, project, role, headers: forms[i % forms.length]!(key), secret: key };
  });
  return {
    kind: "api_key",
    env: { AUTH_MODE: "api_key", AUTH_API_KEYS_FILE: file("keys.json", entries) },
    scheme: "ApiKey",
    users,
    forged: { "x-api-key": makeApiKey("x", "p1", "admin").key },
  };
}

async function basicSetup(file: Writer): Promise<Partial> {
  const users = {} as AuthSetup["users"];
  const entries: Record<string, string>[] = [];
  for (const [name, role, project] of ROLES) {
    const password = `pw-${name}-${Math.random().toString(36).slice(2)}`;
    entries.push(await makeBasicUser(`${name}-user`, password, project, role, TEST_SCRYPT));
    users[name] = { subject: `${name}-user`, project, role, headers: basicHeader(`${name}-user`, password), secret: password };
  }
  return {
    kind: "basic",
    env: { AUTH_MODE: "basic", AUTH_BASIC_USERS_FILE: file("users.json", entries) },
    scheme: "Basic",
    users,
    forged: basicHeader("editor-user", "not-the-password"),
  };
}

/** `Authorization: Basic` for a user and password. */
export function basicHeader(username: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}` };
}
