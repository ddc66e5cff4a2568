import { createHash } from "node:crypto";
import { REALM, unauthenticated, type Authenticator } from "./authenticator.js";
import { presentedCredentials } from "./credentials.js";
import type { Identity, Role } from "./identity.js";

/** One accepted API key (`AUTH_API_KEYS_FILE`): the key itself is never stored, only its SHA-256. */
export interface ApiKeyEntry {
  /** Lower-case hex SHA-256 of the key. */
  sha256: string;
  /** Names the caller (the identity's subject). */
  name: string;
  project: string;
  role: Role;
}

/** The lower-case hex SHA-256 of an API key, as listed in the keys file. */
export function apiKeyHash(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

/**
 * Accepts keys sent as `x-api-key`, `Authorization: ApiKey <key>` or `Authorization: Bearer <key>`
 * (so clients that only know Bearer work too). Keys are random and long, so a plain SHA-256
 * suffices: unlike passwords they cannot be guessed from a dictionary.
 */
export function createApiKeyAuthenticator(entries: ApiKeyEntry[]): Authenticator {
  const byHash = new Map<string, Identity>(entries.map((e) => [e.sha256, { subject: e.name, projectId: e.project, roles: [e.role], authMode: "api_key" }]));
  return {
    mode: "api_key",
    challenge: `ApiKey realm="${REALM}", Bearer realm="${REALM}"`,
    async authenticate(headers) {
      const presented = presentedCredentials(headers);
      const key = presented.apiKey ?? presented.bearer;
      if (!key) throw unauthenticated("an API key is required (x-api-key or Authorization: ApiKey)");
      const identity = byHash.get(apiKeyHash(key));
      if (!identity) throw unauthenticated("API key not accepted");
      return { ...identity, roles: [...identity.roles] };
    },
  };
}
