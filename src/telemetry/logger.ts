import { isSpanContextValid, trace } from "@opentelemetry/api";
import { pino, type DestinationStream, type Logger } from "pino";
import { traceFlagsHex } from "./spans.js";

/**
 * Keys whose values may be credentials: a job's auth block and target headers (API keys,
 * `Authorization`), passwords, tokens and secrets. Their values never reach a log line.
 */
const SECRET_KEYS = ["auth", "authorization", "password", "token", "secret", "secrets", "apiKey", "api_key", "headers", "cookie", "credentials"];

/**
 * How deep below the top of a log object a secret key is still found. pino's redaction matches
 * paths, not keys anywhere; three levels cover `{job: {target: {auth}}}`, the deepest shape logged.
 */
const REDACT_DEPTH = 3;

/** The redacted paths: each secret key at the top level and up to {@link REDACT_DEPTH} levels below. */
export const REDACT_PATHS: readonly string[] = SECRET_KEYS.flatMap((key) =>
  Array.from({ length: REDACT_DEPTH + 1 }, (_, depth) => [...Array<string>(depth).fill("*"), key].join(".")),
);

/** What replaces a redacted value (the API shows inline secrets the same way). */
export const REDACTED = "[redacted]";

/**
 * The active span's ids for a log line written inside a span (an RPC, a run, an attempt). A new
 * object every time: pino merges the line's own fields into it.
 */
function traceFields(): object {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const sc = span.spanContext();
  if (!isSpanContextValid(sc)) return {};
  return { trace_id: sc.traceId, span_id: sc.spanId, trace_flags: traceFlagsHex(sc) };
}

/**
 * The service's logger: structured JSON lines (pino) at `level`, each written inside an RPC or a
 * run carrying `trace_id` and `span_id`, and secret-like fields redacted. Writes to stdout unless
 * a destination is given.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, mixin: traceFields, redact: { paths: [...REDACT_PATHS], censor: REDACTED } };
  return destination ? pino(options, destination) : pino(options);
}
