import { readFileSync } from "node:fs";
import type { JSONWebKeySet } from "jose";
import type { ApiKeyEntry } from "../auth/api-key-authenticator.js";
import type { BasicUser } from "../auth/basic-authenticator.js";
import type { AuthSettings } from "../auth/create-authenticator.js";
import { AUTH_MODES, isRole, projectProblem, type AuthMode, type Role } from "../auth/identity.js";
import { ALL_PROJECTS } from "../domain/project.js";
import type { JwtSettings } from "../auth/jwt-authenticator.js";
import { parsePasswordHash } from "../auth/password-hash.js";
import type { Rate } from "../auth/rate-limiter.js";
import { DEFAULT_JOB_LIMITS, ID_PATTERN, type JobLimits } from "../domain/job-validation.js";
import { SECRET_KEY_BYTES, type SecretKeys } from "../store/secret-cipher.js";
import { configError, intVar } from "./env-values.js";

/** Authentication, secrets at rest and limits, from the environment. */
export interface SecurityConfig {
  auth: AuthSettings;
  /** Whether AUTH_MODE was set at all (cluster mode requires it). */
  authModeSet: boolean;
  secretKeys: SecretKeys;
  limits: JobLimits;
  /** Per-identity rate limit; absent when RATE_LIMIT_RPS is unset. */
  rateLimit?: Rate;
}

/**
 * Reads AUTH_*, SECRETS_KEY*, MIN_SCHEDULE_INTERVAL, MAX_JOBS_PER_PROJECT and RATE_LIMIT_*; throws
 * a ConfigError naming the variable at fault (never quoting a secret). In cluster mode AUTH_MODE
 * must be set: replicas serve a network, and "none" there has to be a decision, not a default.
 */
export function loadSecurityConfig(env: NodeJS.ProcessEnv, clusterMode: boolean): SecurityConfig {
  const mode = (env.AUTH_MODE ?? "").trim();
  if (clusterMode && !mode) {
    throw configError("AUTH_MODE", `must be set in cluster mode (${AUTH_MODES.join(", ")}); set AUTH_MODE=none only to run without authentication on purpose`);
  }
  return {
    auth: authSettings(env, mode || "none"),
    authModeSet: mode !== "",
    secretKeys: secretKeys(env),
    limits: {
      minScheduleIntervalMs: durationVar(env, "MIN_SCHEDULE_INTERVAL", DEFAULT_JOB_LIMITS.minScheduleIntervalMs, 86_400_000),
      maxJobsPerProject: intVar(env, "MAX_JOBS_PER_PROJECT", DEFAULT_JOB_LIMITS.maxJobsPerProject, 1, 100_000_000),
    },
    rateLimit: rateLimit(env),
  };
}

/** Lines to log at start-up about risky settings: no authentication where others can connect, no key for secrets. */
export function securityWarnings(config: { host: string; etcd?: unknown; security: SecurityConfig }): string[] {
  const out: string[] = [];
  const { auth, secretKeys: keys } = config.security;
  if (auth.mode === "none" && config.etcd) {
    out.push("AUTH_MODE=none in cluster mode: ANY CALLER THAT REACHES A REPLICA CAN READ, CHANGE, TRIGGER AND DELETE EVERY JOB OF EVERY PROJECT");
  } else if (auth.mode === "none" && !isLoopback(config.host)) {
    out.push(
      `authentication is off (AUTH_MODE=none) and the API listens on ${config.host}, not only on loopback: anyone who reaches the port controls every job`,
    );
  }
  if (!keys.current) out.push("SECRETS_KEY is not set: inline target credentials are stored unencrypted");
  return out;
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}

function authSettings(env: NodeJS.ProcessEnv, mode: string): AuthSettings {
  if (!(AUTH_MODES as readonly string[]).includes(mode)) throw configError("AUTH_MODE", `must be one of ${AUTH_MODES.join(", ")}, got ${JSON.stringify(mode)}`);
  switch (mode as AuthMode) {
    case "none":
      return { mode: "none" };
    case "jwt":
      return { mode: "jwt", jwt: jwtSettings(env) };
    case "api_key":
      return { mode: "api_key", keys: apiKeys(env) };
    case "basic":
      return { mode: "basic", users: basicUsers(env) };
  }
}

/** RFC 7518 §3.2: an HS256 key must be at least as long as the hash, 256 bits. */
const MIN_HS256_SECRET_BYTES = 32;

function jwtSettings(env: NodeJS.ProcessEnv): JwtSettings {
  const sources = ["AUTH_JWT_SECRET", "AUTH_JWKS_URL", "AUTH_JWKS_FILE"].filter((name) => env[name]);
  if (sources.length !== 1)
    throw configError(
      "AUTH_JWT_SECRET",
      `or AUTH_JWKS_URL or AUTH_JWKS_FILE: exactly one is needed with AUTH_MODE=jwt, got ${sources.length ? sources.join(", ") : "none"}`,
    );
  const settings: JwtSettings = {
    issuer: env.AUTH_JWT_ISSUER || undefined,
    audience: env.AUTH_JWT_AUDIENCE || undefined,
    projectClaim: env.AUTH_PROJECT_CLAIM || "project_id",
    rolesClaim: env.AUTH_ROLES_CLAIM || "roles",
  };
  if (env.AUTH_JWT_SECRET) {
    if (Buffer.byteLength(env.AUTH_JWT_SECRET) < MIN_HS256_SECRET_BYTES)
      throw configError("AUTH_JWT_SECRET", `must be at least ${MIN_HS256_SECRET_BYTES} bytes long`);
    settings.secret = env.AUTH_JWT_SECRET;
  }
  if (env.AUTH_JWKS_URL) {
    if (!/^https?:\/\/\S+$/.test(env.AUTH_JWKS_URL)) throw configError("AUTH_JWKS_URL", "must be an http(s) URL");
    settings.jwksUrl = env.AUTH_JWKS_URL;
  }
  if (env.AUTH_JWKS_FILE) settings.jwks = jwksFile(env.AUTH_JWKS_FILE);
  return settings;
}

function jwksFile(path: string): JSONWebKeySet {
  const parsed = readJson("AUTH_JWKS_FILE", path) as { keys?: unknown };
  if (!Array.isArray(parsed?.keys) || parsed.keys.length === 0) throw configError("AUTH_JWKS_FILE", 'must hold a JWKS: {"keys": [ … ]}');
  for (const key of parsed.keys as Record<string, unknown>[]) {
    if (key.kty !== "RSA" && key.kty !== "EC")
      throw configError("AUTH_JWKS_FILE", `holds a key of type ${JSON.stringify(key.kty)}; RSA (RS256) and EC (ES256) are accepted`);
    if ("d" in key) throw configError("AUTH_JWKS_FILE", "holds private key material: list only the public keys");
  }
  return parsed as JSONWebKeySet;
}

function apiKeys(env: NodeJS.ProcessEnv): ApiKeyEntry[] {
  const entries = listFile(env, "AUTH_API_KEYS_FILE");
  const seen = new Set<string>();
  return entries.map((e, i) => {
    const sha256 = typeof e.sha256 === "string" ? e.sha256.toLowerCase() : "";
    if (!/^[0-9a-f]{64}$/.test(sha256))
      throw configError("AUTH_API_KEYS_FILE", `entry ${i}: sha256 must be 64 hex digits (the SHA-256 of the key, not the key)`);
    if (seen.has(sha256)) throw configError("AUTH_API_KEYS_FILE", `entry ${i}: the same key is listed twice`);
    seen.add(sha256);
    return { sha256, ...grant("AUTH_API_KEYS_FILE", e, i), name: nameOf("AUTH_API_KEYS_FILE", e.name, i, "name") };
  });
}

function basicUsers(env: NodeJS.ProcessEnv): BasicUser[] {
  const entries = listFile(env, "AUTH_BASIC_USERS_FILE");
  const seen = new Set<string>();
  return entries.map((e, i) => {
    const username = nameOf("AUTH_BASIC_USERS_FILE", e.username, i, "username");
    if (username.includes(":")) throw configError("AUTH_BASIC_USERS_FILE", `entry ${i}: username must not contain ':'`);
    if (seen.has(username)) throw configError("AUTH_BASIC_USERS_FILE", `entry ${i}: user ${JSON.stringify(username)} is listed twice`);
    seen.add(username);
    let hash;
    try {
      hash = parsePasswordHash(typeof e.hash === "string" ? e.hash : "");
    } catch (err) {
      throw configError("AUTH_BASIC_USERS_FILE", `entry ${i}: hash ${(err as Error).message}`);
    }
    return { username, hash, ...grant("AUTH_BASIC_USERS_FILE", e, i) };
  });
}

/** The project and role of a key or user entry. */
function grant(variable: string, e: Record<string, unknown>, i: number): { project: string; role: Role } {
  if (!isRole(e.role)) throw configError(variable, `entry ${i}: role must be reader, editor or admin`);
  const project = typeof e.project === "string" ? e.project : "";
  if (project !== ALL_PROJECTS && !ID_PATTERN.test(project)) throw configError(variable, `entry ${i}: project must be ${ALL_PROJECTS} or match ${ID_PATTERN}`);
  const problem = projectProblem(project, [e.role]);
  if (problem) throw configError(variable, `entry ${i}: ${problem}`);
  return { project, role: e.role };
}

function nameOf(variable: string, value: unknown, i: number, field: string): string {
  if (typeof value !== "string" || !value.trim() || value.length > 200)
    throw configError(variable, `entry ${i}: ${field} must be a non-empty string of at most 200 characters`);
  return value;
}

function listFile(env: NodeJS.ProcessEnv, variable: string): Record<string, unknown>[] {
  const path = env[variable];
  if (!path) throw configError(variable, `is required with AUTH_MODE=${env.AUTH_MODE}`);
  const parsed = readJson(variable, path);
  if (!Array.isArray(parsed) || !parsed.every((e) => typeof e === "object" && e !== null)) throw configError(variable, "must hold a JSON array of objects");
  return parsed as Record<string, unknown>[];
}

function readJson(variable: string, path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    // The reason, not the content: a parse error would quote the file.
    const reason = err instanceof SyntaxError ? "it is not valid JSON" : ((err as NodeJS.ErrnoException).code ?? "read failed");
    throw configError(variable, `cannot read ${path}: ${reason}`);
  }
}

function secretKeys(env: NodeJS.ProcessEnv): SecretKeys {
  const current = env.SECRETS_KEY ? secretKey("SECRETS_KEY", env.SECRETS_KEY) : undefined;
  const previous = (env.SECRETS_KEY_PREVIOUS ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((k) => secretKey("SECRETS_KEY_PREVIOUS", k));
  return { current, previous };
}

function secretKey(variable: string, value: string): Buffer {
  const key = Buffer.from(value.trim(), "base64");
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(value.trim()) || key.length !== SECRET_KEY_BYTES) {
    throw configError(variable, `must be ${SECRET_KEY_BYTES} random bytes in base64 (e.g. from: openssl rand -base64 32)`);
  }
  return key;
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A duration such as `500ms`, `1s`, `5m`, `1h` (a bare number is seconds), at most `maxMs`. */
function durationVar(env: NodeJS.ProcessEnv, name: string, fallbackMs: number, maxMs: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallbackMs;
  const m = DURATION.exec(raw);
  const ms = m ? Math.round(Number(m[1]) * UNIT_MS[m[2] ?? "s"]!) : NaN;
  if (!(ms >= 0 && ms <= maxMs))
    throw configError(name, `must be a duration such as 500ms, 1s, 5m or 1h (at most ${maxMs / 1000}s), got ${JSON.stringify(raw)}`);
  return ms;
}

/** Rates up to a million calls a second per identity: above that, leave the limit off. */
const MAX_RPS = 1_000_000;

function rateLimit(env: NodeJS.ProcessEnv): Rate | undefined {
  const raw = env.RATE_LIMIT_RPS?.trim();
  if (!raw) return undefined;
  const rps = Number(raw);
  if (!(rps > 0 && rps <= MAX_RPS))
    throw configError("RATE_LIMIT_RPS", `must be a number of calls per second above 0, at most ${MAX_RPS}, got ${JSON.stringify(raw)}`);
  // By default a caller may spend one second's worth at once.
  const burst = intVar(env, "RATE_LIMIT_BURST", Math.max(1, Math.ceil(rps)), 1, MAX_RPS);
  return { rps, burst };
}
