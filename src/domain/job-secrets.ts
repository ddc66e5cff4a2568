import type { AuthSpec, HttpTargetSpec, JobSpec } from "./job.js";

/** The prefix that marks a secret reference (resolved at execution) instead of an inline value. */
export const SECRET_REF_PREFIX = "secret://";

/** Header names whose inline values are credentials, like those of `auth`. */
const CREDENTIAL_HEADERS = /^(authorization|proxy-authorization|cookie|x-api-key|x-service-token)$/i;

/**
 * Whether a target header is a credential by its name (whatever its value): such values are
 * redacted in responses, sealed at rest like the auth block's secrets, and not sent on to another
 * origin when a redirect is followed.
 */
export function isCredentialHeader(name: string): boolean {
  return CREDENTIAL_HEADERS.test(name);
}

/**
 * A function applied to one secret-bearing value: the value and its field path inside the job
 * (`target.auth.bearer.token`, `target.headers.Authorization`, `tasks.<task_id>.target.auth…`).
 * It returns the value to keep.
 */
export type SecretFn = (value: string, field: string) => string;

/** True for an inline credential: not empty and not a `secret://` reference. */
export function isInlineSecret(value: string): boolean {
  return value !== "" && !value.startsWith(SECRET_REF_PREFIX);
}

function mapAuthSecrets(a: AuthSpec, field: string, fn: SecretFn): AuthSpec {
  switch (a.kind) {
    case "basic":
      return { ...a, password: fn(a.password, `${field}.basic.password`) };
    case "bearer":
      return { ...a, token: fn(a.token, `${field}.bearer.token`) };
    case "service_token":
      return { ...a, token: fn(a.token, `${field}.service_token.token`) };
    case "api_key":
      return { ...a, key: fn(a.key, `${field}.api_key.key`) };
  }
}

function mapTargetSecrets(t: HttpTargetSpec, field: string, fn: SecretFn): HttpTargetSpec {
  const headers = Object.fromEntries(Object.entries(t.headers).map(([k, v]) => [k, isCredentialHeader(k) ? fn(v, `${field}.headers.${k}`) : v]));
  return { ...t, headers, auth: t.auth && mapAuthSecrets(t.auth, `${field}.auth`, fn) };
}

/**
 * Applies `fn` to every secret-bearing value of a spec (auth secrets and sensitive headers of the
 * target and of every task), by field path; returns the spec with the values `fn` returned.
 * Every other field is kept as is.
 */
export function mapSecrets(spec: JobSpec, fn: SecretFn): JobSpec {
  return {
    ...spec,
    target: spec.target && mapTargetSecrets(spec.target, "target", fn),
    tasks: spec.tasks.map((t) => ({ ...t, target: t.target && mapTargetSecrets(t.target, `tasks.${t.taskId}.target`, fn) })),
  };
}

/** True when `test` holds for some secret-bearing value of the spec (a read-only walk, no copy). */
export function someSecret(spec: JobSpec, test: (value: string) => boolean): boolean {
  const inTarget = (t: HttpTargetSpec | undefined) => {
    if (!t) return false;
    if (Object.entries(t.headers).some(([k, v]) => isCredentialHeader(k) && test(v))) return true;
    const a = t.auth;
    if (!a) return false;
    return test(a.kind === "basic" ? a.password : a.kind === "api_key" ? a.key : a.token);
  };
  return inTarget(spec.target) || spec.tasks.some((t) => inTarget(t.target));
}
