import type { Coordinator } from "../coordination/coordinator.js";
import type { IdGenerator } from "../domain/ids.js";
import type { JobRecord } from "../domain/job.js";
import { decideOverlap } from "../domain/overlap.js";
import { slotKeyFor, type RunRecord, type RunTrigger } from "../domain/run.js";
import { jitterOffset } from "../domain/jitter.js";
import type { JobAdvance, Store } from "../store/store.js";
import type { Metrics } from "../telemetry/metrics.js";
import { createFireTraces, type FireTraces } from "../telemetry/run-tracing.js";
import { planFire, type LoadedJob } from "./fire-plan.js";
import type { RunEvents } from "./run-events.js";
import type { RunWorker } from "./run-worker.js";

/** What firing a batch needs. */
export interface FireBatchDeps {
  store: Store;
  metrics: Metrics;
  worker: RunWorker;
  events: RunEvents;
  ids: IdGenerator;
  coordinator: Coordinator;
  now: number;
}

interface Planned {
  loaded: LoadedJob;
  runs: RunRecord[];
  advance: JobAdvance;
}

/**
 * Fires every due job of a batch: plans slots by misfire and overlap policy, inserts all runs in
 * one idempotent call (a slot already fired is adopted, never duplicated), advances every job's
 * next_trigger_at in one compare-and-set call, then hands the queued runs to the worker.
 * Returns each job as it now stands (undefined when it will not fire again).
 */
export async function fireBatch(deps: FireBatchDeps, due: LoadedJob[]): Promise<Map<string, JobRecord | undefined>> {
  const traces = createFireTraces(deps.coordinator.nodeId, deps.now);
  const planned = due.map((loaded) => plan(deps, loaded, traces));
  const inserted = await deps.store.insertRuns(planned.flatMap((p) => p.runs));
  const advanced = await deps.store.advanceJobs(planned.map((p) => p.advance));
  const jobs = new Map(planned.map((p) => [p.loaded.job.jobId, p.loaded.job]));
  for (const { run, inserted: isNew } of inserted) {
    const outcome = !isNew ? "adopted" : run.status === "skipped" ? "skipped" : "queued";
    deps.metrics.fired(outcome, deps.now - run.dueAt);
    traces.end(run, outcome);
    if (isNew) deps.events.publish(run);
    if (run.status !== "queued") continue;
    const job = jobs.get(run.jobId)!;
    // Under forbid and replace the runs of a job execute one at a time (catch-up slots queue up).
    deps.worker.submit(run, job.spec.concurrencyPolicy !== "allow", run.jobVersion === job.version ? job.spec : undefined);
  }
  return nextStates(deps.store, planned, advanced);
}

function plan(deps: FireBatchDeps, loaded: LoadedJob, traces: FireTraces): Planned {
  const { job } = loaded;
  const decision = planFire(loaded, deps.now);
  const overlap = decideOverlap(job.spec.concurrencyPolicy, deps.worker.activeRuns(job.jobId));
  if (overlap.action === "replace") for (const runId of overlap.cancel) deps.worker.cancel(runId, "replaced by a newer slot");
  const status = overlap.action === "skip" ? "skipped" : "queued";
  const runs = decision.fire.map(({ slot, trigger }) => newRun(deps, job, slot, trigger, status, loaded)).map((run) => ({ ...run, ...traces.start(run) }));
  const skipped = decision.skipped + (status === "skipped" ? runs.length : 0);
  deps.metrics.slotsSkipped("misfire", decision.skipped);
  deps.metrics.slotsSkipped("overlap", status === "skipped" ? runs.length : 0);
  deps.metrics.slotsSkipped("catch_up_cap", decision.dropped);
  const last = decision.fire[decision.fire.length - 1]?.slot;
  const advance: JobAdvance = {
    jobId: job.jobId,
    expectedNextTriggerAt: job.nextTriggerAt,
    nextTriggerAt: decision.next,
    lastTriggeredAt: last,
    skipped,
    dropped: decision.dropped,
    status: decision.next === undefined ? "completed" : undefined,
  };
  return { loaded, runs, advance };
}

function newRun(deps: FireBatchDeps, job: JobRecord, slot: number, trigger: RunTrigger, status: "queued" | "skipped", loaded: LoadedJob): RunRecord {
  const dueAt = slot === loaded.slot ? loaded.dueAt : slot + jitterOffset(job.jobId, slot, job.spec.maxJitterMs, undefined);
  return {
    runId: deps.ids("run"),
    jobId: job.jobId,
    jobVersion: job.version,
    projectId: job.spec.projectId,
    slotKey: slotKeyFor(slot),
    scheduledAt: slot,
    dueAt,
    trigger,
    status,
    attempts: [],
    result: status === "skipped" ? "skipped: a run of the job is still running (forbid)" : "",
    error: "",
    nodeId: deps.coordinator.nodeId,
    traceId: "",
    replayOf: "",
    redriveOf: "",
    taskResults: [],
    createdAt: deps.now,
    updatedAt: deps.now,
    ...(status === "skipped" ? { finishedAt: deps.now } : {}),
    revision: 1,
  };
}

async function nextStates(store: Store, planned: Planned[], advanced: boolean[]): Promise<Map<string, JobRecord | undefined>> {
  const out = new Map<string, JobRecord | undefined>();
  for (const [i, p] of planned.entries()) {
    const job = p.loaded.job;
    if (advanced[i]) {
      const done = p.advance.status === "completed";
      out.set(job.jobId, done ? undefined : { ...job, nextTriggerAt: p.advance.nextTriggerAt });
    } else {
      // Someone else moved the job (an update, another leader): take the stored state.
      out.set(job.jobId, await store.getJob(job.jobId));
    }
  }
  return out;
}
