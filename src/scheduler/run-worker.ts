import type { Clock } from "../domain/clock.js";
import type { HttpTargetSpec, JobSpec } from "../domain/job.js";
import type { RunRecord } from "../domain/run.js";
import type { HttpClient } from "../executor/http-client.js";
import type { SecretSource } from "../executor/secrets.js";
import type { Store } from "../store/store.js";
import { runAttempts, type AttemptLoopDeps } from "./attempt-loop.js";
import { runDag } from "./dag-execution.js";
import type { RunEvents } from "./run-events.js";
import { createRunWriter, RunPreempted } from "./run-writer.js";

/** What the worker needs. */
export interface RunWorkerDeps {
  store: Store;
  clock: Clock;
  http: HttpClient;
  secrets: SecretSource;
  handlers: Map<string, HttpTargetSpec>;
  events: RunEvents;
  nodeId: string;
  /** Runs executing at once on this node. */
  concurrency: number;
}

/** Executes runs on this node: a bounded pool, cancellable, at-least-once. */
export interface RunWorker {
  /**
   * Queues a run for execution (queued status expected). An exclusive run never executes while
   * another run of its job executes here; runs of a job start in submission order.
   */
  submit(run: RunRecord, exclusive: boolean): void;
  /** Aborts a run executing or waiting here; false when it is not here. */
  cancel(runId: string, reason: string): boolean;
  /** Ids of the job's runs waiting or executing here. */
  activeRuns(jobId: string): string[];
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
  controller: AbortController;
  reason: string;
  exclusive: boolean;
}

/** Creates the worker pool. */
export function createRunWorker(deps: RunWorkerDeps): RunWorker {
  const write = createRunWriter(deps.store, deps.clock, deps.events);
  const slots = new Map<string, Slot>();
  let waiting: string[] = [];
  /** Executing runs per job, and the jobs whose executing run is exclusive. */
  const executing = new Map<string, number>();
  const exclusiveJobs = new Set<string>();
  let running = 0;
  let idleWaiters: (() => void)[] = [];

  const eligible = (slot: Slot) =>
    !exclusiveJobs.has(slot.run.jobId) && !(slot.exclusive && (executing.get(slot.run.jobId) ?? 0) > 0);
  const begin = (slot: Slot) => {
    running++;
    executing.set(slot.run.jobId, (executing.get(slot.run.jobId) ?? 0) + 1);
    if (slot.exclusive) exclusiveJobs.add(slot.run.jobId);
    void execute(deps, write, slot).finally(() => {
      running--;
      const left = (executing.get(slot.run.jobId) ?? 1) - 1;
      if (left === 0) executing.delete(slot.run.jobId);
      else executing.set(slot.run.jobId, left);
      if (slot.exclusive) exclusiveJobs.delete(slot.run.jobId);
      slots.delete(slot.run.runId);
      pump();
    });
  };
  const pump = () => {
    if (running < deps.concurrency && waiting.length > 0) {
      const blockedJobs = new Set<string>();
      const kept: string[] = [];
      for (const runId of waiting) {
        const slot = slots.get(runId);
        if (!slot) continue;
        // A job whose earlier run is still waiting keeps its order: later runs wait behind it.
        if (running >= deps.concurrency || blockedJobs.has(slot.run.jobId) || !eligible(slot)) {
          blockedJobs.add(slot.run.jobId);
          kept.push(runId);
          continue;
        }
        begin(slot);
      }
      waiting = kept;
    }
    if (running === 0 && waiting.length === 0) {
      for (const w of idleWaiters) w();
      idleWaiters = [];
    }
  };

  return {
    submit(run, exclusive) {
      if (slots.has(run.runId)) return;
      slots.set(run.runId, { run, controller: new AbortController(), reason: "", exclusive });
      waiting.push(run.runId);
      pump();
    },
    cancel(runId, reason) {
      const slot = slots.get(runId);
      if (!slot) return false;
      slot.reason = reason;
      slot.controller.abort();
      return true;
    },
    activeRuns: (jobId) => [...slots.values()].filter((s) => s.run.jobId === jobId).map((s) => s.run.runId),
    idle: () => (running === 0 && waiting.length === 0 ? Promise.resolve() : new Promise((r) => idleWaiters.push(r))),
    async stop(graceMs) {
      for (const runId of waiting) slots.delete(runId);
      waiting = [];
      const grace = new Promise<void>((resolve) => deps.clock.setTimer(graceMs, resolve));
      await Promise.race([this.idle(), grace]);
      for (const slot of slots.values()) {
        slot.reason = SHUTDOWN;
        slot.controller.abort();
      }
      await this.idle();
    },
  };
}

/** Runs one run from queued to a final state, writing every step. */
async function execute(deps: RunWorkerDeps, write: ReturnType<typeof createRunWriter>, slot: Slot): Promise<void> {
  const save = serialized(write);
  try {
    if (slot.controller.signal.aborted) {
      await save(slot.run, { status: "cancelled", finishedAt: deps.clock.now(), error: slot.reason || "cancelled" });
      return;
    }
    const startedAt = deps.clock.now();
    let run = await save(slot.run, { status: "running", startedAt, nodeId: deps.nodeId, attempts: [], taskResults: [] });
    const spec = await specOf(deps.store, run);
    const outcome = spec ? await perform(deps, spec, run, slot.controller.signal, (changes) => save(run, changes).then((r) => (run = r))) : undefined;
    run = await finish(deps, save, run, spec, outcome, slot.reason, startedAt);
  } catch (err) {
    if (!(err instanceof RunPreempted)) throw err;
  }
}

/** Chains writes of one run so concurrent DAG tasks never race each other's compare-and-set. */
function serialized(write: ReturnType<typeof createRunWriter>) {
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
  return runAttempts(loopDeps, target, spec.retry, ctx, signal, (attempts) => progress({ attempts: [...attempts] }).then(() => undefined));
}

async function finish(
  deps: RunWorkerDeps, save: ReturnType<typeof serialized>, run: RunRecord, spec: JobSpec | undefined,
  outcome: Outcome | undefined, reason: string, startedAt: number,
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
  if (spec) {
    await deps.store.recordRunOutcome({ jobId: run.jobId, durationMs, failed: status === "dead_lettered" });
    await deps.store.trimRuns(run.jobId, spec.historyLimit);
  }
  return done;
}
