import { CronError } from "../domain/cron-error.js";
import type { HttpTargetSpec } from "../domain/job.js";
import { normalizeTarget } from "../domain/job-validation.js";
import type { OutboundPolicy } from "../domain/outbound-policy.js";

/** Prefix of the environment variables that define a handler: HANDLER_<NAME>_URL, _METHOD, _TIMEOUT_MS. */
const ENV_PREFIX = "HANDLER_";

interface RawHandler {
  url?: unknown;
  method?: unknown;
  headers?: unknown;
  body?: unknown;
  timeout_ms?: unknown;
  success_codes?: unknown;
  follow_redirects?: unknown;
}

/**
 * Named handlers from a parsed JSON file (`{"name": {"url": ..., "method": ...}}`) and from
 * environment variables (`HANDLER_REMINDER_SCHEDULER_URL=...` defines `reminder_scheduler`).
 * Environment variables win. Each target is validated like a job's target, outbound policy included.
 */
export function parseHandlers(file: unknown, env: NodeJS.ProcessEnv, outbound: OutboundPolicy): Map<string, HttpTargetSpec> {
  if (typeof file !== "object" || file === null || Array.isArray(file)) throw CronError.invalid("handlers", "expected a JSON object of name → target");
  const raw = new Map<string, RawHandler>(Object.entries(file as Record<string, RawHandler>));
  for (const [key, value] of Object.entries(env)) {
    const m = /^HANDLER_([A-Z0-9_]+?)_(URL|METHOD|TIMEOUT_MS)$/.exec(key);
    if (!m || value === undefined || !key.startsWith(ENV_PREFIX)) continue;
    const name = m[1]!.toLowerCase();
    const entry = raw.get(name) ?? {};
    if (m[2] === "URL") entry.url = value;
    if (m[2] === "METHOD") entry.method = value;
    if (m[2] === "TIMEOUT_MS") entry.timeout_ms = Number(value);
    raw.set(name, entry);
  }
  return new Map([...raw].map(([name, h]) => [name, validateHandler(name, h, outbound)]));
}

function validateHandler(name: string, h: RawHandler, outbound: OutboundPolicy): HttpTargetSpec {
  const target: HttpTargetSpec = {
    url: typeof h.url === "string" ? h.url : "",
    method: typeof h.method === "string" ? h.method : "",
    headers: (h.headers as Record<string, string> | undefined) ?? {},
    body: typeof h.body === "string" ? h.body : "",
    timeoutMs: typeof h.timeout_ms === "number" ? h.timeout_ms : 0,
    successCodes: Array.isArray(h.success_codes) ? (h.success_codes as number[]) : [],
    followRedirects: h.follow_redirects === true,
  };
  return normalizeTarget(target, `handlers.${name}`, outbound);
}
