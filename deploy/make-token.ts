/**
 * Makes the credentials cronmesh accepts, for trying it out and for tests:
 *
 *   npm run -s make-token -- secrets-key
 *   AUTH_JWT_SECRET=… npm run -s make-token -- jwt --sub alice --project payments --roles editor [--ttl 1h] [--iss …] [--aud …]
 *   npm run -s make-token -- keypair --alg ES256 --private signing-key.json --jwks jwks.json
 *   npm run -s make-token -- jwt --key signing-key.json --sub alice --project payments --roles reader
 *   npm run -s make-token -- api-key --name ci --project payments --role editor --file api-keys.json
 *   PASSWORD=… npm run -s make-token -- basic-user --username bob --project payments --role reader --file users.json
 *
 * Secrets are read from the environment (AUTH_JWT_SECRET, PASSWORD), never from arguments, which
 * end up in shell histories and process lists. Key and user files are created or appended to.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from "jose";
import { apiKeyHash } from "../src/auth/api-key-authenticator.js";
import { hashPassword, type ScryptParams } from "../src/auth/password-hash.js";

/** Claims and signing key of {@link makeJwt}. */
export interface JwtOptions {
  /** HS256 shared secret; or `key`, a private JWK (RS256/ES256) as written by {@link makeKeyPair}. */
  secret?: string;
  key?: JWK;
  sub: string;
  project: string;
  roles: string[];
  /** Lifetime in seconds (default one hour); negative makes a token already expired. */
  ttlSeconds?: number;
  /** Not valid before this many seconds from now (default: valid at once). */
  notBeforeSeconds?: number;
  issuer?: string;
  audience?: string;
  /** Claim names, as the server's AUTH_PROJECT_CLAIM and AUTH_ROLES_CLAIM. */
  projectClaim?: string;
  rolesClaim?: string;
  /** Clock of the token (epoch ms); default the wall clock. */
  now?: number;
}

/** A signed JWT with `sub`, the project and roles claims, `iat`, `exp` and optionally `nbf`, `iss`, `aud`. */
export async function makeJwt(o: JwtOptions): Promise<string> {
  const now = Math.floor((o.now ?? Date.now()) / 1000);
  const claims = { [o.projectClaim ?? "project_id"]: o.project, [o.rolesClaim ?? "roles"]: o.roles };
  const alg = o.key ? String(o.key.alg) : "HS256";
  let jwt = new SignJWT(claims).setProtectedHeader(o.key?.kid ? { alg, kid: o.key.kid } : { alg }).setSubject(o.sub).setIssuedAt(now).setExpirationTime(now + (o.ttlSeconds ?? 3600));
  if (o.notBeforeSeconds) jwt = jwt.setNotBefore(now + o.notBeforeSeconds);
  if (o.issuer) jwt = jwt.setIssuer(o.issuer);
  if (o.audience) jwt = jwt.setAudience(o.audience);
  if (o.key) return jwt.sign(await importJWK(o.key, alg));
  if (!o.secret) throw new Error("a JWT needs a secret (AUTH_JWT_SECRET) or a private key (--key)");
  return jwt.sign(new TextEncoder().encode(o.secret));
}

/** A new signing key pair: the private JWK (for {@link makeJwt}) and the public JWKS (for AUTH_JWKS_FILE). */
export async function makeKeyPair(alg: "RS256" | "ES256", kid = `cronmesh-${randomBytes(4).toString("hex")}`): Promise<{ privateJwk: JWK; jwks: { keys: JWK[] } }> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const base = { kid, alg, use: "sig" };
  return { privateJwk: { ...(await exportJWK(privateKey)), ...base }, jwks: { keys: [{ ...(await exportJWK(publicKey)), ...base }] } };
}

/** A new random API key and its entry for AUTH_API_KEYS_FILE (which holds only the key's SHA-256). */
export function makeApiKey(name: string, project: string, role: string): { key: string; entry: Record<string, string> } {
  // 32 random bytes: far beyond guessing, which is why a plain SHA-256 of the key is enough on the server.
  const key = `cm_${randomBytes(32).toString("base64url")}`;
  return { key, entry: { sha256: apiKeyHash(key), name, project, role } };
}

/** An entry for AUTH_BASIC_USERS_FILE: the user and an scrypt hash of the password. */
export async function makeBasicUser(username: string, password: string, project: string, role: string, params?: ScryptParams): Promise<Record<string, string>> {
  return { username, hash: await hashPassword(password, params), project, role };
}

/** A new SECRETS_KEY: 32 random bytes in base64. */
export function makeSecretsKey(): string {
  return randomBytes(32).toString("base64");
}

function appendEntry(file: string, entry: Record<string, string>): void {
  const list = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as unknown[]) : [];
  writeFileSync(file, `${JSON.stringify([...list, entry], null, 2)}\n`, { mode: 0o600 });
}

const TTL = /^(\d+)(s|m|h|d)?$/;
const TTL_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

function seconds(text: string): number {
  const m = TTL.exec(text);
  if (!m) throw new Error(`--ttl takes a duration such as 900s, 15m, 1h or 7d, got ${text}`);
  return Number(m[1]) * TTL_SECONDS[m[2] ?? "s"]!;
}

async function main(argv: string[]): Promise<void> {
  const { positionals, values: v } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      sub: { type: "string" }, project: { type: "string" }, roles: { type: "string" }, role: { type: "string" }, ttl: { type: "string", default: "1h" },
      iss: { type: "string" }, aud: { type: "string" }, key: { type: "string" }, alg: { type: "string", default: "ES256" }, private: { type: "string" },
      jwks: { type: "string" }, name: { type: "string" }, username: { type: "string" }, file: { type: "string" },
    },
  });
  const need = (value: string | undefined, flag: string) => {
    if (!value) throw new Error(`--${flag} is required`);
    return value;
  };
  switch (positionals[0]) {
    case "secrets-key":
      return console.log(makeSecretsKey());
    case "jwt": {
      const key = v.key ? (JSON.parse(readFileSync(v.key, "utf8")) as JWK) : undefined;
      const roles = need(v.roles, "roles").split(",");
      return console.log(await makeJwt({ secret: process.env.AUTH_JWT_SECRET, key, sub: need(v.sub, "sub"), project: need(v.project, "project"), roles, ttlSeconds: seconds(v.ttl!), issuer: v.iss, audience: v.aud }));
    }
    case "keypair": {
      const { privateJwk, jwks } = await makeKeyPair(v.alg === "RS256" ? "RS256" : "ES256");
      writeFileSync(need(v.private, "private"), JSON.stringify(privateJwk, null, 2), { mode: 0o600 });
      writeFileSync(need(v.jwks, "jwks"), JSON.stringify(jwks, null, 2));
      return console.log(`private key: ${v.private} (keep it secret); public JWKS: ${v.jwks} (AUTH_JWKS_FILE)`);
    }
    case "api-key": {
      const { key, entry } = makeApiKey(need(v.name, "name"), need(v.project, "project"), need(v.role, "role"));
      appendEntry(need(v.file, "file"), entry);
      return console.log(key);
    }
    case "basic-user": {
      const password = need(process.env.PASSWORD, "PASSWORD (environment)");
      appendEntry(need(v.file, "file"), await makeBasicUser(need(v.username, "username"), password, need(v.project, "project"), need(v.role, "role")));
      return console.log(`user ${v.username} added to ${v.file}`);
    }
    default:
      throw new Error("usage: make-token secrets-key | jwt | keypair | api-key | basic-user (see the comment at the top of deploy/make-token.ts)");
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error((err as Error).message);
    process.exit(1);
  });
}
