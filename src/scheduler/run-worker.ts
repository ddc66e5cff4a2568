import type { Logger } from "pino";
import type { Clock } from "../domain/clock.js";
import type { HttpTargetSpec, JobSpec } from "../domain/job.js";
import { isFinal, type RunRecord } from "../domain/run.js";
import type { HttpClient } from "../executor/http-client.js";
import type { SecretSource } from "../executor/secrets.js";
import type { RunOutcome, Store } from "../store/store.js";
import type { Metrics } from "../telemetry/metrics.js";
import { traceRun } from "../telemetry/run-tracing.js";
import { createBatcher } from "./batcher.js";
import { runAttempts, type AttemptLoopDeps } from "./attempt-loop.js";
import { runDag } from "./dag-execution.js";
import type { RunEvents } from "./run-events.js";
import { createRunQueue } from "./run-queue.js";
import { createRunWriter, RunPreempted, type RunWriter } from "./run-writer.js";

/** What the worker needs. */
export interface RunWorkerDeps {
  store: Store;
  metrics: Metrics;
  clock: Clock;
  http: HttpClient;
  secrets: SecretSource;
  handlers: Map<string, HttpTargetSpec>;
  events: RunEvents;
  nodeId: string;
  /** Runs executing at once on this node. */
  concurrency: number;
  /** Where finished and dead-lettered runs are logged (inside their run span). */
  log?: Logger;
}

/** Executes runs on this node: a bounded pool, cancellable, at-least-once. */
export interface RunWorker {
  /**
   * Queues a run for execution (queued status expected). An exclusive run never executes while
   * another run of its job executes here; runs of a job start in submission order.
   */
  submit(run: RunRecord, exclusive: boolean, spec?: JobSpec): void;
  /** Aborts a run executing or waiting here; false when it is not here. */
  cancel(runId: string, reason: string): boolean;
  /** Ids of the job's runs waiting or executing here. */
  activeRuns(jobId: string): string[];
  /** Runs waiting for a free worker. */
  waiting(): number;
  /** Resolves once nothing is waiting or executing. */
  idle(): Promise<void>;
  /**
   * Stops taking work: waiting runs are left queued in the store, executing runs get `graceMs`
   * to finish, then are aborted and put back to queued for the next start (at-least-once).
   */
  stop(graceMs: number): Promise<void>;
}

/** Abort reason of a node shutting down: the run goes back to queued, not to cancelled. */
const SHUTDOWN = "node shutting down";

interface Slot {
  run: RunRecord;
  /** The job's spec at the run's version, when the submitter had it (saves a read per run). */
  spec?: JobSpec;
  jobId: string;
  controller: AbortController;
  reason: string;
  exclusive: boolean;
  /** Set at shutdown for runs that had not started: they are left queued, untouched. */
  dropped: boolean;
}

/** Creates the worker pool. */
export function createRunWorker(deps: RunWorkerDeps): RunWorker {
  const write = createRunWriter(deps.store, deps.clock, deps.events);
  const after = createAfterRun(deps.store);
  const slots = new Map<string, Slot>();
  /** Run ids per job, so overlap checks cost O(1) per job, not a scan of every slot. */
  const byJob = new Map<string, Set<string>>();
  const queue = createRunQueue<Slot>();
  /** Executions still writing (counters, trimming) after their run was released. */
  const tails = new Set<Promise<unknown>>();
  const forget = (slot: Slot) => {
    slots.delete(slot.run.runId);
    const ids = byJob.get(slot.jobId);
    ids?.delete(slot.run.runId);
    if (ids?.size === 0) byJob.delete(slot.jobId);
  };
  let running = 0;
  let idleWaiters: (() => void)[] = [];

  const begin = (slot: Slot) => {
    running++;
    let released = false;
    // Called as soon as the run's final state is stored (its counters are written after), so a
    // caller that saw the run finish never finds it still active here.
    const release = () => {
      if (released) return;
      released = true;
      running--;
      queue.done(slot);
      forget(slot);
      pump();
    };
    const tail = traceRun(slot.run, deps.log, () => execute(deps, write, after, slot, release)).finally(release);
    tails.add(tail);
    void tail.finally(() => tails.delete(tail));
  };
  const pump = () => {
    while (running < deps.concurrency) {
      const slot = queue.take();
      if (!slot) break;
      begin(slot);
    }
    if (running === 0 && queue.waiting === 0) {
      for (const w of idleWaiters) w();
      idleWaiters = [];
    }
  };

  return {
    submit(run, exclusive, spec) {
      if (slots.has(run.runId)) return;
      const slot: Slot = { run, spec, jobId: run.jobId, controller: new AbortController(), reason: "", exclusive, dropped: false };
      slots.set(run.runId, slot);
      byJob.set(run.jobId, (byJob.get(run.jobId) ?? new Set()).add(run.runId));
      queue.push(slot);
      pump();
    },
    cancel(runId, reason) {
      const slot = slots.get(runId);
      if (!slot) return false;
      slot.reason = reason;
      slot.controller.abort();
      return true;
    },
    activeRuns: (jobId) => [...(byJob.get(jobId) ?? [])],
    waiting: () => queue.waiting,
    idle: () => (running === 0 && queue.waiting === 0 ? Promise.resolve() : new Promise((r) => idleWaiters.push(r))),
    async stop(graceMs) {
      // Waiting runs stay queued in the store for the next start: mark them so they are skipped.
      for (const slot of slots.values()) slot.dropped = true;
      const grace = new Promise<void>((resolve) => deps.clock.setTimer(graceMs, resolve));
      await Promise.race([this.idle(), grace]);
      for (const slot of slots.values()) {
        slot.reason = SHUTDOWN;
        slot.controller.abort();
      }
      await this.idle();
      await Promise.allSettled([...tails]);
    },
  };
}

/** Runs one run from queued to a final state, writing every step; resolves with the run as it ends. */
async function execute(deps: RunWorkerDeps, write: RunWriter, after: AfterRun, slot: Slot, release: () => void): Promise<RunRecord | undefined> {
  const save = serialized(write);
  if (slot.dropped) return undefined;
  try {
    if (slot.controller.signal.aborted) {
      return await save(slot.run, { status: "cancelled", finishedAt: deps.clock.now(), error: slot.reason || "cancelled" });
    }
    const startedAt = deps.clock.now();
    const running: Partial<RunRecord> = { status: "running", startedAt, nodeId: deps.nodeId, attempts: [], taskResults: [] };
    const starting = save(slot.run, running);
    // With the spec at hand the request leaves while "running" is being written; should that
    // write find the run cancelled meanwhile, the request is aborted and nothing else is written.
    starting.catch(() => slot.controller.abort());
    let run: RunRecord = slot.spec ? { ...slot.run, ...running } : await starting;
    const spec = slot.spec ?? (await specOf(deps.store, run));
    const outcome = spec ? await perform(deps, spec, run, slot.controller.signal, (changes) => save(run, changes).then((r) => (run = r))) : undefined;
    run = await starting.then((started) => (run.revision > started.revision ? run : started));
    run = await finish(deps, save, run, outcome, slot.reason, startedAt, release);
    if (spec && isFinal(run.status)) await after(run, spec);
    return run;
  } catch (err) {
    if (!(err instanceof RunPreempted)) throw err;
    return err.run;
  }
}

/** Chains writes of one run so concurrent DAG tasks never race each other's compare-and-set. */
function serialized(write: RunWriter) {
  let tail: Promise<RunRecord | undefined> = Promise.resolve(undefined);
  return (run: RunRecord, changes: Partial<RunRecord>): Promise<RunRecord> => {
    const next = tail.then((latest) => write(latest && latest.revision > run.revision ? latest : run, changes));
    tail = next.catch(() => undefined);
    return next;
  };
}

/** The spec the run was created with: its job version, or the current spec when that version is gone. */
async function specOf(store: Store, run: RunRecord): Promise<JobSpec | undefined> {
  const job = await store.getJob(run.jobId);
  if (!job) return undefined;
  if (job.version === run.jobVersion) return job.spec;
  return (await store.getJobVersion(run.jobId, run.jobVersion))?.spec ?? job.spec;
}

interface Outcome {
  ok: boolean;
  cancelled: boolean;
  error: string;
}

async function perform(deps: RunWorkerDeps, spec: JobSpec, run: RunRecord, signal: AbortSignal, progress: (c: Partial<RunRecord>) => Promise<unknown>): Promise<Outcome> {
  const loopDeps: AttemptLoopDeps = { http: deps.http, secrets: deps.secrets, now: deps.clock.now, clock: deps.clock };
  const targetOf = (t: { target?: HttpTargetSpec; handler: string }) =>
    t.target ?? deps.handlers.get(t.handler) ?? `handler ${JSON.stringify(t.handler)} not configured`;
  if (spec.tasks.length > 0) {
    return runDag(loopDeps, {
      tasks: spec.tasks, targetOf, retry: spec.retry, runId: run.runId, jobId: run.jobId, scheduledAt: run.scheduledAt, signal,
      onProgress: (taskResults) => progress({ taskResults }).then(() => undefined),
    });
  }
  const target = targetOf(spec);
  if (typeof target === "string") return { ok: false, cancelled: false, error: target };
  const ctx = { runId: run.runId, jobId: run.jobId, scheduledAt: run.scheduledAt };
  return runAttempts(loopDeps, target, spec.retry, ctx, signal, (attempts) => {
    deps.metrics.attempt(attempts[attempts.length - 1]!.error === "");
    return progress({ attempts: [...attempts] }).then(() => undefined);
  });
}

async function finish(
  deps: RunWorkerDeps, save: ReturnType<typeof serialized>, run: RunRecord,
  outcome: Outcome | undefined, reason: string, startedAt: number, release: () => void,
): Promise<RunRecord> {
  if (reason === SHUTDOWN && outcome?.cancelled) {
    return save(run, { status: "queued", error: "interrupted by a node shutdown; will run again" });
  }
  const finishedAt = deps.clock.now();
  const durationMs = finishedAt - startedAt;
  const status = !outcome ? "cancelled" : outcome.ok ? "succeeded" : outcome.cancelled ? "cancelled" : "dead_lettered";
  const error = !outcome ? "job was deleted" : outcome.cancelled ? reason || "cancelled" : outcome.error;
  const result = status === "succeeded" ? "succeeded" : status === "dead_lettered" ? "retries exhausted; in the dead-letter queue" : status;
  const done = await save(run, { status, finishedAt, durationMs, error, result });
  deps.metrics.runFinished(status);
  release();
  return done;
}

/** Bookkeeping after a run is final: the job's counters (batched) and, now and then, trimming. */
type AfterRun = (run: RunRecord, spec: JobSpec) => Promise<void>;

/**
 * History is trimmed once every tenth of the history limit finishes per job (so it may run over
 * by up to 10% between trims) instead of after every run: a trim is a query per job, the
 * counters are one batched write for all runs that finish together.
 */
function createAfterRun(store: Store): AfterRun {
  const record = createBatcher(async (outcomes: RunOutcome[]) => {
    await store.recordRunOutcomes(outcomes);
    return outcomes.map(() => undefined);
  });
  const sinceTrim = new Map<string, number>();
  return async (run, spec) => {
    await record({ jobId: run.jobId, durationMs: run.durationMs ?? 0, failed: run.status === "dead_lettered" });
    const count = (sinceTrim.get(run.jobId) ?? 0) + 1;
    if (count < Math.max(1, Math.floor(spec.historyLimit / 10))) {
      sinceTrim.set(run.jobId, count);
      return;
    }
    sinceTrim.delete(run.jobId);
    await store.trimRuns(run.jobId, spec.historyLimit);
  };
}
