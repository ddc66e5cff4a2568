import { SpanKind, SpanStatusCode, type Attributes, type Span } from "@opentelemetry/api";
import type { AttemptRecord } from "../domain/run.js";
import type { AttemptContext } from "../executor/outgoing-request.js";
import { ATTR } from "./attributes.js";
import { startSpan, traceParentOf } from "./spans.js";
import { tracingActive } from "./tracing.js";

/** What the span needs from an attempt's outcome. */
interface TracedOutcome {
  record: AttemptRecord;
  ok: boolean;
}

/**
 * Makes one HTTP attempt inside a CLIENT span (a child of the active run span) and hands `send`
 * the attempt context with that span's `traceparent`, so the target continues the same trace.
 * The span is not made the active one: nothing inside an attempt logs or makes spans, and an
 * active context would cost a context switch per attempt.
 */
export function traceAttempt<T extends TracedOutcome>(
  target: { url: string; method: string },
  ctx: AttemptContext,
  send: (ctx: AttemptContext) => Promise<T>,
): Promise<T> {
  return tracingActive() ? sendInSpan(target, ctx, send) : send(ctx);
}

async function sendInSpan<T extends TracedOutcome>(
  target: { url: string; method: string },
  ctx: AttemptContext,
  send: (ctx: AttemptContext) => Promise<T>,
): Promise<T> {
  const span = startSpan(target.method, { kind: SpanKind.CLIENT, attributes: () => attemptAttributes(target, ctx) });
  const traceparent = traceParentOf(span);
  try {
    const outcome = await send(traceparent ? { ...ctx, traceparent } : ctx);
    recordOutcome(span, outcome.record, outcome.ok);
    return outcome;
  } finally {
    span.end();
  }
}

function recordOutcome(span: Span, { statusCode, error }: AttemptRecord, ok: boolean): void {
  if (statusCode > 0) span.setAttribute(ATTR.httpResponseStatusCode, statusCode);
  if (ok) return;
  span.setAttribute(ATTR.errorType, statusCode > 0 ? String(statusCode) : error.split(":")[0] || "error");
  span.setStatus({ code: SpanStatusCode.ERROR, message: error });
}

/** HTTP client attributes; the run and job ids are on the parent run span. */
function attemptAttributes(target: { url: string; method: string }, ctx: AttemptContext): Attributes {
  const attributes: Attributes = { [ATTR.httpRequestMethod]: target.method, [ATTR.attempt]: ctx.attempt };
  if (ctx.attempt > 1) attributes[ATTR.httpResendCount] = ctx.attempt - 1;
  const url = safeUrl(target.url);
  if (!url) return attributes;
  attributes[ATTR.urlFull] = url.href;
  attributes[ATTR.serverAddress] = url.hostname;
  attributes[ATTR.serverPort] = Number(url.port) || (url.protocol === "https:" ? 443 : 80);
  return attributes;
}

/**
 * The target URL without anything that may be a credential: user info is dropped and every
 * query value is replaced (a token in a query string must not reach the trace backend).
 */
export function safeUrl(raw: string): URL | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  url.username = "";
  url.password = "";
  for (const key of new Set(url.searchParams.keys())) url.searchParams.set(key, "REDACTED");
  return url;
}
