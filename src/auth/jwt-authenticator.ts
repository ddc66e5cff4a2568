import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { CronError } from "../domain/cron-error.js";
import { REALM, unauthenticated, type Authenticator } from "./authenticator.js";
import { presentedCredentials } from "./credentials.js";
import { projectProblem, rolesOf, type Identity } from "./identity.js";

/** JWT verification settings (`AUTH_JWT_*`): exactly one key source. */
export interface JwtSettings {
  /** HS256 shared secret (`AUTH_JWT_SECRET`). */
  secret?: string;
  /** RS256/ES256 public keys served as a JWKS (`AUTH_JWKS_URL`). */
  jwksUrl?: string;
  /** RS256/ES256 public keys read from a JWKS file (`AUTH_JWKS_FILE`). */
  jwks?: JSONWebKeySet;
  /** Required `iss` when set. */
  issuer?: string;
  /** Required `aud` when set. */
  audience?: string;
  /** Claim naming the project (a dotted path reaches into objects). */
  projectClaim: string;
  /** Claim naming the roles: an array, or a string of names separated by spaces or commas. */
  rolesClaim: string;
}

/** Public-key algorithms accepted from a JWKS; HS256 only with a shared secret (never both: no algorithm confusion). */
const JWKS_ALGORITHMS = ["RS256", "ES256"];

/** Verifies `Authorization: Bearer <jwt>` with jose: signature, `exp` (required), `nbf`, and `iss`/`aud` when configured. */
export function createJwtAuthenticator(settings: JwtSettings, now: () => number): Authenticator {
  const key = keySource(settings);
  const options = {
    algorithms: settings.secret ? ["HS256"] : JWKS_ALGORITHMS,
    issuer: settings.issuer,
    audience: settings.audience,
    requiredClaims: ["exp"],
  };
  return {
    mode: "jwt",
    challenge: `Bearer realm="${REALM}"`,
    async authenticate(headers) {
      const token = presentedCredentials(headers).bearer;
      if (!token) throw unauthenticated("a bearer token is required");
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, key, { ...options, currentDate: new Date(now()) }));
      } catch (err) {
        throw failureOf(err);
      }
      return identityOf(payload, settings);
    },
  };
}

function keySource(settings: JwtSettings): Uint8Array | JWTVerifyGetKey {
  if (settings.secret) return new TextEncoder().encode(settings.secret);
  if (settings.jwks) return createLocalJWKSet(settings.jwks);
  return createRemoteJWKSet(new URL(settings.jwksUrl!));
}

/** The caller's error for a rejected token: what failed, in words of our own (jose's may quote claim values). */
function failureOf(err: unknown): CronError {
  if (err instanceof errors.JWTExpired) return unauthenticated("token expired");
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === "nbf") return unauthenticated("token not valid yet");
    if (err.reason === "missing") return unauthenticated(`token has no ${err.claim} claim`);
    return unauthenticated(`token ${err.claim} claim not accepted`);
  }
  if (err instanceof errors.JWKSTimeout) return new CronError("unavailable", "the JWKS could not be fetched in time");
  if (err instanceof errors.JOSEAlgNotAllowed) return unauthenticated("token algorithm not accepted");
  if (err instanceof errors.JWKSNoMatchingKey) return unauthenticated("no key matches the token");
  if (err instanceof errors.JWSSignatureVerificationFailed) return unauthenticated("token signature invalid");
  if (err instanceof errors.JOSEError) return unauthenticated("malformed token");
  // A JWKS URL that cannot be fetched (network, HTTP status) is the server's problem, not the caller's.
  return new CronError("unavailable", "the JWKS could not be fetched", undefined, { cause: err });
}

/** A claim by name, or by dotted path into nested objects (`realm_access.roles`). */
function claimAt(payload: JWTPayload, name: string): unknown {
  if (name in payload) return payload[name];
  let value: unknown = payload;
  for (const part of name.split(".")) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function identityOf(payload: JWTPayload, settings: JwtSettings): Identity {
  if (typeof payload.sub !== "string" || !payload.sub) throw unauthenticated("token has no sub claim");
  const project = claimAt(payload, settings.projectClaim);
  const projectId = typeof project === "string" ? project : "";
  const roles = rolesOf(claimAt(payload, settings.rolesClaim));
  const problem = projectProblem(projectId, roles);
  if (problem) throw unauthenticated(`token ${problem} (claim ${settings.projectClaim})`);
  return { subject: payload.sub, projectId, roles, authMode: "jwt" };
}
