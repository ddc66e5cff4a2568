import {
  context, INVALID_SPAN_CONTEXT, propagation, ROOT_CONTEXT, SpanStatusCode, trace,
  type Attributes, type Context, type Span, type SpanKind, type TextMapGetter,
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
export async function withSpan<T>(name: string, options: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  if (!tracingActive()) return fn(NOOP_SPAN);
  const span = startSpan(name, options);
  return context.with(trace.setSpan(options.parent ?? context.active(), span), async () => {
    try {
      return await fn(span);
    } catch (err) {
      if (options.isError?.(err) ?? true) markFailed(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Marks a span as failed, with the error as an exception event. */
export function markFailed(span: Span, err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  span.recordException(err instanceof Error ? err : message);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

/** The W3C `traceparent` of a span; undefined while tracing is off. */
export function traceParentOf(span: Span): string | undefined {
  return traceParentIn(trace.setSpan(ROOT_CONTEXT, span));
}

/** The W3C `traceparent` of the active span, if any. */
export function activeTraceParent(): string | undefined {
  return traceParentIn(context.active());
}

function traceParentIn(ctx: Context): string | undefined {
  const carrier: { traceparent?: string } = {};
  propagation.inject(ctx, carrier);
  return carrier.traceparent;
}

/** The 32-hex trace id of a `traceparent`, or "" without one. */
export function traceIdOf(traceParent: string | undefined): string {
  return traceParent?.split("-")[1] ?? "";
}

/** A context whose remote parent is the given `traceparent` (the root context without one). */
export function contextOfTraceParent(traceParent: string | undefined): Context {
  return traceParent ? propagation.extract(ROOT_CONTEXT, { traceparent: traceParent }) : ROOT_CONTEXT;
}

const HEADERS_GETTER: TextMapGetter<Headers> = {
  get: (headers, key) => headers.get(key) ?? undefined,
  keys: (headers) => [...headers.keys()],
};

/** The trace context a caller sent in its request headers (`traceparent`, `tracestate`, `baggage`). */
export function contextOfHeaders(headers: Headers): Context {
  return propagation.extract(ROOT_CONTEXT, headers, HEADERS_GETTER);
}
