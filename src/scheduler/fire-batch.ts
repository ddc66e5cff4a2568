import { jobLockKey, type Coordinator, type Lock } from "../coordination/coordinator.js";
import { CronError } from "../domain/cron-error.js";
import type { IdGenerator } from "../domain/ids.js";
import type { JobRecord } from "../domain/job.js";
import { decideOverlap } from "../domain/overlap.js";
import { newRun, skippedRun, slotKeyFor, type RunRecord, type RunTrigger } from "../domain/run.js";
import type { JobAdvance, Store } from "../store/store.js";
import type { JobCache } from "./job-cache.js";
import type { Metrics } from "../telemetry/metrics.js";
import { createFireTraces, type FireTraces } from "../telemetry/run-tracing.js";
import { dueAtOf, planFire, type LoadedJob, type StagingOutlook } from "./fire-plan.js";
import type { Announced, RunDispatcher } from "./run-dispatcher.js";
import type { RunCanceller } from "./run-canceller.js";
import type { RunEvents } from "./run-events.js";
import type { Overload } from "./overload.js";

/**
 * How long a fire may hold its jobs' locks: they guard the overlap decision and the insert only
 * (milliseconds), and a leader dying mid-batch must not hold up its successor: that one takes
 * over a lease TTL (3 s by default) after the death, by which time these locks are gone too.
 */
export const FIRE_LOCK_TTL_MS = 3000;

/** Most active runs read for one batch's overlap decisions (a backlog beyond it is pathological anyway). */
const MAX_ACTIVE_READ_PER_BATCH = 1_000_000;

/** What firing a batch needs. */
export interface FireBatchDeps {
  store: Store;
  metrics: Metrics;
  dispatcher: RunDispatcher;
  canceller: RunCanceller;
  events: RunEvents;
  ids: IdGenerator;
  coordinator: Coordinator;
  /** This node's job cache: its workers find the jobs of the runs handed over here without a read. */
  jobs?: Pick<JobCache, "offer">;
  now: number;
  /** What the batch's runs should expect of this node's queue: slots that would start too late are shed. */
  outlook?: StagingOutlook;
  /** Where slots shed for overload are reported; misfire skips count as shed while it says the node is overloaded. */
  overload?: Pick<Overload, "shed" | "overloaded">;
  onError: (err: unknown, step: string) => void;
}

/** The outcome of a batch. */
export interface FiredBatch {
  /** Each fired job as it now stands (undefined when it will not fire again). */
  next: Map<string, JobRecord | undefined>;
  /** Jobs whose lock another replica held (a manual trigger): to fire again shortly. */
  busy: LoadedJob[];
  /**
   * Jobs staged ahead of their due time whose overlap decision depends on a run still active
   * (forbid, replace): to fire at their due time exactly, when that run may have finished.
   */
  deferred: LoadedJob[];
}

interface Planned {
  loaded: LoadedJob;
  runs: RunRecord[];
  advance: JobAdvance;
  /** Runs of the job a `replace` policy cancels for these slots (started once leadership is confirmed). */
  replaced: string[];
}

/**
 * Fires every due job of a batch under the jobs' locks, taken in one step that also proves this
 * replica still leads (fencing). The concurrency policy sees every queued or running run of the
 * job in the cluster (the store's active runs). All runs are inserted in one idempotent call (a
 * slot already fired is adopted, never duplicated), every job's next_trigger_at advances in one
 * compare-and-set call, and the queued runs are announced to the replicas' claim loops.
 */
export async function fireBatch(deps: FireBatchDeps, due: LoadedJob[]): Promise<FiredBatch> {
  const locks = await deps.coordinator.tryLocks(
    due.map((d) => jobLockKey(d.job.jobId)),
    { ttlMs: FIRE_LOCK_TTL_MS, asLeader: true },
  );
  const mine = due.filter((d) => locks.has(jobLockKey(d.job.jobId)));
  const busy = due.filter((d) => !locks.has(jobLockKey(d.job.jobId)));
  for (let i = 0; i < busy.length; i++) deps.metrics.lockFailure();
  const traces = createFireTraces(deps.coordinator.nodeId, deps.now);
  let planned: Planned[];
  let inserted: Awaited<ReturnType<Store["insertRuns"]>>;
  const deferred: LoadedJob[] = [];
  try {
    const active = await activeRunsOf(
      deps.store,
      mine.map((d) => d.job),
    );
    const ready: LoadedJob[] = [];
    for (const d of mine) (d.dueAt > deps.now && active.has(d.job.jobId) ? deferred : ready).push(d);
    planned = ready.map((loaded) => plan(deps, loaded, active.get(loaded.job.jobId) ?? [], traces));
    // Fencing, once more right before writing: a leader frozen since the lock step fires nothing.
    if (!deps.coordinator.canFire()) throw new CronError("unavailable", "leadership could not be confirmed in time");
    for (const p of planned) for (const runId of p.replaced) void cancelReplaced(deps, runId);
    // A slot already stored (by a predecessor that died before advancing) is known, not re-read:
    // if its run is still queued, the claim loops' scans find it.
    inserted = await deps.store.insertRuns(
      planned.flatMap((p) => p.runs),
      { adopt: false },
    );
  } finally {
    // The locks guard the overlap decision and the insert; the advance is a compare-and-set.
    void releaseQuietly(deps, [...locks.values()]);
  }
  // The runs are stored: announce them before advancing the jobs, so requests leave at once.
  announce(deps, planned, inserted, traces);
  const advanced = await deps.store.advanceJobs(planned.map((p) => p.advance));
  return { next: await nextStates(deps.store, planned, advanced), busy, deferred };
}

/** The job's runs not final yet, for jobs whose policy depends on them (forbid, replace). */
async function activeRunsOf(store: Store, jobs: JobRecord[]): Promise<Map<string, string[]>> {
  const jobIds = jobs.filter((j) => j.spec.concurrencyPolicy !== "allow").map((j) => j.jobId);
  const out = new Map<string, string[]>();
  if (jobIds.length === 0) return out;
  for (const run of await store.listActiveRuns({ jobIds, limit: MAX_ACTIVE_READ_PER_BATCH })) {
    out.set(run.jobId, [...(out.get(run.jobId) ?? []), run.runId]);
  }
  return out;
}

function announce(deps: FireBatchDeps, planned: Planned[], inserted: Awaited<ReturnType<Store["insertRuns"]>>, traces: FireTraces): void {
  const jobs = new Map(planned.map((p) => [p.loaded.job.jobId, p.loaded.job]));
  const queued: Announced[] = [];
  for (const { run, inserted: isNew } of inserted) {
    const outcome = !isNew ? "adopted" : run.status === "skipped" ? "skipped" : "queued";
    deps.metrics.fired(outcome, deps.now - run.dueAt);
    traces.end(run, outcome);
    if (!isNew) continue;
    deps.events.publish(run);
    if (run.status !== "queued") continue;
    const job = jobs.get(run.jobId)!;
    deps.jobs?.offer(job);
    queued.push({ run, exclusive: job.spec.concurrencyPolicy !== "allow" });
  }
  deps.dispatcher.dispatch(queued);
}

async function releaseQuietly(deps: FireBatchDeps, locks: Lock[]): Promise<void> {
  if (locks.length === 0) return;
  // A lock that cannot be released frees itself after FIRE_LOCK_TTL_MS.
  await deps.coordinator.releaseLocks(locks).catch((err: unknown) => deps.onError(err, "release fire locks"));
}

function plan(deps: FireBatchDeps, loaded: LoadedJob, active: string[], traces: FireTraces): Planned {
  const { job } = loaded;
  const decision = planFire(loaded, deps.now, deps.outlook);
  const overlap = decision.fire.length > 0 ? decideOverlap(job.spec.concurrencyPolicy, active) : { action: "start" as const };
  const status = overlap.action === "skip" ? "skipped" : "queued";
  const runs = decision.fire.map(({ slot, trigger }) => {
    const run = slotRun(deps, job, slot, trigger, status, loaded);
    return Object.assign(run, traces.start(run));
  });
  const skipped = loaded.shedBefore + decision.skipped + decision.shed + (status === "skipped" ? runs.length : 0);
  deps.metrics.slotsSkipped("misfire", decision.skipped);
  // Slots missed while the node was overloaded were left unstaged for lack of room: shed too.
  if (decision.shed + decision.skipped > 0) deps.overload?.shed("staging", decision.shed + (deps.overload.overloaded ? decision.skipped : 0));
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
  return { loaded, runs, advance, replaced: overlap.action === "replace" ? overlap.cancel : [] };
}

/** Cancels a run replaced by a newer slot (wherever it executes); failures are reported, not thrown. */
async function cancelReplaced(deps: FireBatchDeps, runId: string): Promise<void> {
  try {
    const run = await deps.store.getRun(runId);
    if (run) await deps.canceller.cancel(run, "replaced by a newer slot");
  } catch (err) {
    deps.onError(err, "replace");
  }
}

/** The run of one slot: queued, or skipped at once when a run of the job is still active (forbid). */
function slotRun(deps: FireBatchDeps, job: JobRecord, slot: number, trigger: RunTrigger, status: "queued" | "skipped", loaded: LoadedJob): RunRecord {
  const run = newRun({
    runId: deps.ids("run"),
    job,
    slotKey: slotKeyFor(slot),
    scheduledAt: slot,
    dueAt: dueAtOf(loaded, slot),
    trigger,
    nodeId: deps.coordinator.nodeId,
    now: deps.now,
  });
  return status === "skipped" ? skippedRun(run, deps.now) : run;
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
