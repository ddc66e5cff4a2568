import { SpanKind, SpanStatusCode, type Span } from "@opentelemetry/api";
import type { Logger } from "pino";
import type { RunRecord } from "../domain/run.js";
import { ATTR, SPAN } from "./attributes.js";
import { activeTraceParent, contextOfTraceParent, startSpan, traceIdOf, traceParentOf, withSpan } from "./spans.js";
import { tracingActive } from "./tracing.js";

/** The trace fields a new run stores, so whichever replica executes it continues its trace. */
export type RunTraceFields = Pick<RunRecord, "traceId" | "traceParent">;

/** What became of a fired slot. */
export type FireOutcome = "queued" | "skipped" | "adopted";

/** The spans of one fire batch: one new trace per fired slot. */
export interface FireTraces {
  /** Starts the span of a slot about to be written; the run stores the fields returned. */
  start(run: RunRecord): RunTraceFields;
  /** Ends a slot's span once the write is done; `run` is the stored run (another one when adopted). */
  end(run: RunRecord, outcome: FireOutcome): void;
}

const NO_FIRE_TRACES: FireTraces = { start: () => ({ traceId: "" }), end: () => undefined };

/**
 * Creates the spans of a fire batch. Each fired slot starts a trace of its own carrying the job,
 * the slot, its due time, the lateness at `now` (the batch's fire time) or how far ahead of the due
 * time the slot was staged, the node and whether the
 * job's lock was acquired: a slot that the forbid policy skipped did not acquire it.
 */
export function createFireTraces(nodeId: string, now: number): FireTraces {
  if (!tracingActive()) return NO_FIRE_TRACES;
  const spans = new Map<string, Span>();
  const keyOf = (run: RunRecord) => `${run.jobId}\u0000${run.slotKey}`;
  return {
    start(run) {
      const span = startSpan(SPAN.fire, { kind: SpanKind.PRODUCER, root: true, attributes: () => fireAttributes(run, nodeId, now) });
      spans.set(keyOf(run), span);
      return traceFields(traceParentOf(span));
    },
    end(run, outcome) {
      const span = spans.get(keyOf(run));
      if (!span) return;
      spans.delete(keyOf(run));
      span.setAttributes({ [ATTR.fireOutcome]: outcome, [ATTR.runId]: run.runId });
      span.end();
    },
  };
}

function fireAttributes(run: RunRecord, nodeId: string, now: number) {
  return {
    [ATTR.jobId]: run.jobId,
    [ATTR.slot]: new Date(run.scheduledAt).toISOString(),
    [ATTR.dueAt]: new Date(run.dueAt).toISOString(),
    [ATTR.latenessMs]: Math.max(0, now - run.dueAt),
    [ATTR.stagedAheadMs]: Math.max(0, run.dueAt - now),
    [ATTR.nodeId]: nodeId,
    [ATTR.lockAcquired]: run.status !== "skipped",
    [ATTR.runTrigger]: run.trigger,
  };
}

/** The trace a manual run (trigger, replay, redrive, backfill) continues: the active span's, i.e. the RPC's. */
export function continuedTrace(): RunTraceFields {
  return traceFields(activeTraceParent());
}

function traceFields(traceParent: string | undefined): RunTraceFields {
  return traceParent ? { traceId: traceIdOf(traceParent), traceParent } : { traceId: "" };
}

/** Statuses that mark a run span as failed. */
const FAILED: readonly string[] = ["failed", "dead_lettered"];

/**
 * Executes a run inside its run span: a child of the span stored on the run (the fire or the RPC
 * that created it, on whichever replica), so attempts made inside are children of the run. The
 * span gets the final status; a dead-lettered run is logged as a warning, others at debug.
 */
export function traceRun(run: RunRecord, log: Logger | undefined, execute: () => Promise<RunRecord | undefined>): Promise<RunRecord | undefined> {
  const attributes = () => ({
    [ATTR.runId]: run.runId,
    [ATTR.jobId]: run.jobId,
    [ATTR.runTrigger]: run.trigger,
    [ATTR.slot]: new Date(run.scheduledAt).toISOString(),
  });
  const parent = contextOfTraceParent(run.traceParent);
  return withSpan(SPAN.run, { kind: SpanKind.CONSUMER, parent, attributes }, (span) => execute().then((final) => finished(span, final, log)));
}

/** Records a run's final status on its span and logs it (inside the span, so with its ids). */
function finished(span: Span, final: RunRecord | undefined, log: Logger | undefined): RunRecord | undefined {
  if (!final) return final;
  span.setAttribute(ATTR.runStatus, final.status);
  if (FAILED.includes(final.status)) span.setStatus({ code: SpanStatusCode.ERROR, message: final.error });
  const fields = { run_id: final.runId, job_id: final.jobId, status: final.status, error: final.error || undefined };
  if (final.deadLetteredAt !== undefined) log?.warn(fields, "run failed: in the dead-letter queue");
  else log?.debug(fields, "run finished");
  return final;
}
