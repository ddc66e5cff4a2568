/** A configuration error: the message names the variable and the fix. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** The error for a variable with a problem: "invalid configuration: <VARIABLE> <problem>". */
export function configError(variable: string, problem: string): ConfigError {
  return new ConfigError(`invalid configuration: ${variable} ${problem}`);
}

/** An integer variable within [min, max]; `fallback` when unset or empty. */
export function intVar(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw configError(name, `must be an integer between ${min} and ${max}, got ${JSON.stringify(raw)}`);
  return n;
}
