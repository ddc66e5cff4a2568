import { createApiKeyAuthenticator, type ApiKeyEntry } from "./api-key-authenticator.js";
import type { Authenticator } from "./authenticator.js";
import { createBasicAuthenticator, type BasicUser } from "./basic-authenticator.js";
import { anonymousIdentity } from "./identity.js";
import { createJwtAuthenticator, type JwtSettings } from "./jwt-authenticator.js";

/** How callers are authenticated (`AUTH_MODE` and its settings), validated by the configuration. */
export type AuthSettings =
  { mode: "none" } | { mode: "jwt"; jwt: JwtSettings } | { mode: "api_key"; keys: ApiKeyEntry[] } | { mode: "basic"; users: BasicUser[] };

/** The authenticator of the configured mode; `now` is the clock JWT validity is checked against. */
export function createAuthenticator(settings: AuthSettings, now: () => number): Authenticator {
  switch (settings.mode) {
    case "none":
      return { mode: "none", challenge: "", authenticate: async () => anonymousIdentity("") };
    case "jwt":
      return createJwtAuthenticator(settings.jwt, now);
    case "api_key":
      return createApiKeyAuthenticator(settings.keys);
    case "basic":
      return createBasicAuthenticator(settings.users);
  }
}
