import { createHmac, randomBytes } from "node:crypto";
import { REALM, unauthenticated, type Authenticator } from "./authenticator.js";
import { presentedCredentials } from "./credentials.js";
import type { Identity, Role } from "./identity.js";
import { DEFAULT_SCRYPT, verifyPassword, type PasswordHash } from "./password-hash.js";

/** One basic-auth user (`AUTH_BASIC_USERS_FILE`). */
export interface BasicUser {
  username: string;
  hash: PasswordHash;
  project: string;
  role: Role;
}

/**
 * Credentials verified recently, kept so that a client sending the same password on every call
 * pays for one scrypt, not one per call (a hash costs tens to hundreds of milliseconds by design).
 * Bounded; the oldest entry goes first.
 */
const VERIFIED_CACHE_SIZE = 1000;

/**
 * Accepts `Authorization: Basic` against scrypt hashes. An unknown user costs the same scrypt as
 * a known one, so response times do not tell which users exist.
 */
export function createBasicAuthenticator(users: BasicUser[]): Authenticator {
  const byName = new Map(users.map((u) => [u.username, u]));
  // A key of this process only: the cache holds HMACs of credentials, useless outside it.
  const cacheKey = randomBytes(32);
  const verified = new Map<string, Identity>();
  const decoy: PasswordHash = { params: DEFAULT_SCRYPT, salt: randomBytes(16), key: randomBytes(32) };
  return {
    mode: "basic",
    challenge: `Basic realm="${REALM}", charset="UTF-8"`,
    async authenticate(headers) {
      const basic = presentedCredentials(headers).basic;
      if (!basic) throw unauthenticated("basic credentials are required");
      const mac = createHmac("sha256", cacheKey).update(`${basic.username}\0${basic.password}`).digest("base64");
      const known = verified.get(mac);
      if (known) return { ...known, roles: [...known.roles] };
      const user = byName.get(basic.username);
      const ok = await verifyPassword(basic.password, user?.hash ?? decoy);
      if (!user || !ok) throw unauthenticated("user or password not accepted");
      const identity: Identity = { subject: user.username, projectId: user.project, roles: [user.role], authMode: "basic" };
      if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value!);
      verified.set(mac, identity);
      return { ...identity, roles: [...identity.roles] };
    },
  };
}
