import { SECRET_REF_PREFIX } from "../domain/job-secrets.js";
import { CronError } from "../domain/cron-error.js";

/** Environment variables named CRONMESH_SECRET_<NAME> hold secrets; NAME is upper-cased, other characters become _. */
const ENV_PREFIX = "CRONMESH_SECRET_";

/** Where secret references are looked up at execution time. */
export interface SecretSource {
  get(name: string): string | undefined;
}

/** A source reading `CRONMESH_SECRET_<NAME>` variables, then a parsed secrets file. */
export function createSecretSource(env: NodeJS.ProcessEnv, file: Record<string, string> = {}): SecretSource {
  return {
    get(name) {
      const fromEnv = env[`${ENV_PREFIX}${name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`];
      return fromEnv ?? file[name];
    },
  };
}

/**
 * Resolves a value that may be a `secret://name` reference; inline values pass through. A missing
 * secret fails as failed_precondition naming the reference (not the value).
 */
export function resolveSecret(source: SecretSource, value: string): string {
  if (!value.startsWith(SECRET_REF_PREFIX)) return value;
  const name = value.slice(SECRET_REF_PREFIX.length);
  const secret = source.get(name);
  if (secret === undefined) throw new CronError("failed_precondition", `secret ${JSON.stringify(name)} is not configured`);
  return secret;
}
