import {
  context,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanContext,
  type SpanKind,
  type TextMapGetter,
} from "@opentelemetry/api";
import { tracingActive } from "./tracing.js";

/** The instrumentation scope of every cronmesh span. */
const TRACER_NAME = "cronmesh";

/** What a span is: its kind, attributes known at start, and where it hangs in a trace. */
export interface SpanOptions {
  kind: SpanKind;
  /** Computed only when tracing is on, so a hot path pays nothing for them while it is off. */
  attributes?: () => Attributes;
  /** The parent; the active context when absent. */
  parent?: Context;
  /** Starts a new trace, whatever the parent. */
  root?: boolean;
  /** Whether a thrown error marks the span as failed (default: every error does). */
  isError?: (err: unknown) => boolean;
}

/** Stands in for spans while tracing is off: every call on it is a no-op. */
const NOOP_SPAN: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/**
 * Starts a span that the caller ends. Every cronmesh span is made here or in {@link withSpan}.
 * While tracing is off it returns a shared no-op span and costs one check.
 */
export function startSpan(name: string, options: SpanOptions): Span {
  if (!tracingActive()) return NOOP_SPAN;
  // Looked up per span: a tracer cached across an SDK restart would stay bound to the old one.
  const tracer = trace.getTracer(TRACER_NAME);
  return tracer.startSpan(name, { kind: options.kind, attributes: options.attributes?.(), root: options.root }, options.parent ?? context.active());
}

/**
 * Runs `fn` inside a new span (the active span while `fn` runs, so spans and log lines made
 * inside are its children) and ends it when `fn` settles. A thrown error is recorded on the span
 * and rethrown.
 */
export function withSpan<T>(name: string, options: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  // Not an async function: while tracing is off, `fn` runs without a single extra promise.
  if (!tracingActive()) return fn(NOOP_SPAN);
  const span = startSpan(name, options);
  return context.with(trace.setSpan(options.parent ?? context.active(), span), () => runInSpan(span, options, fn));
}

async function runInSpan<T>(span: Span, options: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  try {
    return await fn(span);
  } catch (err) {
    if (options.isError?.(err) ?? true) markFailed(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/** Marks a span as failed, with the error as an exception event. */
export function markFailed(span: Span, err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  span.recordException(err instanceof Error ? err : message);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

/**
 * The W3C `traceparent` of a span (version 00); undefined while tracing is off. Formatted here
 * rather than through the propagator: it is written once per fire and per attempt, and a stored
 * run's parent is always a W3C trace context whatever propagators are configured.
 */
export function traceParentOf(span: Span): string | undefined {
  const sc = span.spanContext();
  return isSpanContextValid(sc) ? `00-${sc.traceId}-${sc.spanId}-${traceFlagsHex(sc)}` : undefined;
}

/** The trace flags of a span context as the two hex digits W3C and log lines use. */
export function traceFlagsHex(sc: SpanContext): string {
  return sc.traceFlags.toString(16).padStart(2, "0");
}

/** The W3C `traceparent` of the active span, if any. */
export function activeTraceParent(): string | undefined {
  const span = trace.getSpan(context.active());
  return span ? traceParentOf(span) : undefined;
}

/** The 32-hex trace id of a `traceparent`, or "" without one. */
export function traceIdOf(traceParent: string | undefined): string {
  return traceParent?.split("-")[1] ?? "";
}

/** version-traceid-parentid-flags; version ff is invalid (W3C Trace Context). */
const TRACEPARENT = /^(?!ff)[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})/;

/** A context whose remote parent is the given `traceparent` (the root context without a valid one). */
export function contextOfTraceParent(traceParent: string | undefined): Context {
  const m = traceParent ? TRACEPARENT.exec(traceParent) : null;
  if (!m) return ROOT_CONTEXT;
  const parent = { traceId: m[1]!, spanId: m[2]!, traceFlags: parseInt(m[3]!, 16), isRemote: true };
  return isSpanContextValid(parent) ? trace.setSpanContext(ROOT_CONTEXT, parent) : ROOT_CONTEXT;
}

const HEADERS_GETTER: TextMapGetter<Headers> = {
  get: (headers, key) => headers.get(key) ?? undefined,
  keys: (headers) => [...headers.keys()],
};

/** The trace context a caller sent in its request headers (`traceparent`, `tracestate`, `baggage`). */
export function contextOfHeaders(headers: Headers): Context {
  return propagation.extract(ROOT_CONTEXT, headers, HEADERS_GETTER);
}
