import { jobLockKey } from "../coordination/coordinator.js";
import { CronError } from "../domain/cron-error.js";
import type { JobRecord } from "../domain/job.js";
import { decideOverlap } from "../domain/overlap.js";
import { inDeadLetterQueue, isFinal, newRun, skippedRun, slotKeyFor, type RunRecord, type RunTrigger, type TaskResultRecord } from "../domain/run.js";
import { nextFireTimes } from "../domain/schedule.js";
import { continuedTrace } from "../telemetry/run-tracing.js";
import type { RunFilter } from "../scheduler/run-events.js";
import { projectOfQuery } from "../domain/project.js";
import { checkRunnable } from "../domain/job-validation.js";
import type { AppDeps } from "./deps.js";
import { type Actor } from "./jobs.js";
import { createRunReads } from "./run-reads.js";
import { waitRunFinal } from "./run-waits.js";

/**
 * How long a manual trigger may hold the job lock while it records its run (milliseconds
 * normally): a replica dying mid-trigger holds up the job's next fire no longer than a failover.
 */
const TRIGGER_LOCK_TTL_MS = 3000;
/** Bounded retries of the last_triggered_at compare-and-set when the fire loop races us. */
const STAMP_RETRIES = 3;
/** One backfill creates at most this many runs; a larger range is refused rather than truncated. */
export const MAX_BACKFILL_SLOTS = 1000;
/** How long CancelRun waits for a running run to record its cancellation. */
const CANCEL_WAIT_MS = 5000;
/** Most active runs of one job read for a concurrency decision. */
const MAX_ACTIVE_READ_PER_JOB = 10_000;

/** Outcome of a manual trigger. */
export interface TriggerResult {
  run: RunRecord;
  lockAcquired: boolean;
  triggeredAt: number;
}

/** What a manual run copies from its origin (replay, redrive) or takes from now (trigger). */
interface ManualRunInput {
  trigger: RunTrigger;
  jobVersion?: number;
  scheduledAt?: number;
  replayOf?: string;
  redriveOf?: string;
  /** The run's uniqueness key within the job; a key of its own when absent. */
  slotKey?: string;
  /** DAG task results the run starts with (a redrive's succeeded tasks, not run again). */
  taskResults?: TaskResultRecord[];
  /** Refuse (FailedPrecondition) rather than record a skipped run when the concurrency policy blocks it. */
  refuseWhenBlocked?: boolean;
}

/** Which job version a redrive executes. */
export type RedriveVersion = "original" | "current";

/** Run use cases: manual triggers, replay, redrive, backfill, cancel and reads. */
export type RunCommands = ReturnType<typeof createRunCommands>;

/** Creates the run use cases. */
export function createRunCommands(deps: AppDeps) {
  const { store, clock, coordinator, dispatcher, canceller } = deps;

  const baseRun = (job: JobRecord, input: ManualRunInput, now: number): RunRecord => {
    const runId = deps.ids("run");
    const run = newRun({
      runId,
      job,
      jobVersion: input.jobVersion,
      slotKey: input.slotKey ?? `${input.trigger}:${runId}`,
      scheduledAt: input.scheduledAt ?? now,
      dueAt: now,
      trigger: input.trigger,
      nodeId: coordinator.nodeId,
      now,
      replayOf: input.replayOf,
      redriveOf: input.redriveOf,
      taskResults: input.taskResults,
    });
    // A manual run continues the caller's trace: the RPC span active here is its parent.
    return { ...run, ...continuedTrace() };
  };

  /** Stamps last_triggered_at, starting from the job in hand; the job is re-read only after losing a race. */
  const stampTriggered = async (known: JobRecord, at: number) => {
    let job: JobRecord | undefined = known;
    for (let i = 0; i < STAMP_RETRIES && job; i++) {
      const { jobId, nextTriggerAt } = job;
      const [ok] = await store.advanceJobs([{ jobId, expectedNextTriggerAt: nextTriggerAt, nextTriggerAt, lastTriggeredAt: at }]);
      if (ok) return;
      job = await store.getJob(jobId);
    }
  };

  /** Runs of the job still queued or running anywhere in the cluster. */
  const activeRuns = (jobId: string) => store.listActiveRuns({ jobIds: [jobId], limit: MAX_ACTIVE_READ_PER_JOB });

  const exclusive = (job: JobRecord) => job.spec.concurrencyPolicy !== "allow";

  /** Starts the cancellation of a run still active, wherever it executes. */
  const cancelActive = async (runId: string, reason: string) => {
    const run = await store.getRun(runId);
    if (run && !isFinal(run.status)) await canceller.cancel(run, reason);
  };

  /**
   * The one path of every manual run: job lock, concurrency policy, insert, dispatch. A run whose
   * slot key is taken already is not created again: the result then carries the holder, with
   * `inserted` false.
   */
  const createManualRun = async (job: JobRecord, input: ManualRunInput): Promise<TriggerResult & { inserted: boolean }> => {
    const now = clock.now();
    const lock = await coordinator.tryLock(jobLockKey(job.jobId), { ttlMs: TRIGGER_LOCK_TTL_MS });
    if (!lock) deps.metrics.lockFailure();
    try {
      const active = lock ? await activeRuns(job.jobId) : [];
      const overlap = lock
        ? decideOverlap(
            job.spec.concurrencyPolicy,
            active.map((r) => r.runId),
          )
        : { action: "skip" as const };
      if (overlap.action === "skip" && input.refuseWhenBlocked) {
        throw new CronError("failed_precondition", `a run of job ${job.jobId} is still running (${job.spec.concurrencyPolicy}); try again once it is done`);
      }
      if (overlap.action === "replace") await Promise.all(active.map((r) => cancelActive(r.runId, "replaced by a manual run")));
      const run = baseRun(job, input, now);
      const [result] = await store.insertRuns([overlap.action === "skip" ? skippedRun(run, now) : run]);
      const stored = result!.run;
      if (result!.inserted) {
        deps.events.publish(stored);
        dispatcher.dispatch([{ run: stored, exclusive: exclusive(job) }]);
        await stampTriggered(job, now);
      }
      return { run: stored, lockAcquired: overlap.action !== "skip", triggeredAt: now, inserted: result!.inserted };
    } finally {
      await lock?.release();
    }
  };

  const alreadyRedriven = (run: RunRecord, by: string) => new CronError("failed_precondition", `run ${run.runId} was already redriven by run ${by}`);

  const reads = createRunReads(deps);
  const { get } = reads;

  const jobOf = async (run: RunRecord): Promise<JobRecord> => {
    const job = await store.getJob(run.jobId);
    if (!job) throw new CronError("failed_precondition", `job ${run.jobId} of run ${run.runId} no longer exists`);
    return job;
  };

  /** Cancels a queued or running run wherever it executes; a running HTTP request is aborted. */
  async function cancel(runId: string, reason: string, actor: Actor): Promise<RunRecord> {
    const run = await get(runId, actor);
    if (isFinal(run.status)) throw new CronError("failed_precondition", `run ${runId} is already ${run.status}`);
    await canceller.cancel(run, reason);
    return waitRunFinal(deps, runId, CANCEL_WAIT_MS);
  }

  return {
    ...reads,
    cancel,

    /** A WatchRuns filter within the actor's project (a filter naming another project is refused). */
    watchFilter: (filter: RunFilter, actor: Actor): RunFilter => ({ ...filter, projectId: projectOfQuery(actor.project, filter.projectId) ?? "" }),

    /**
     * The run once it is final, or as it stands after `waitMs` (or once `signal` aborts): the
     * final state may be written by any replica.
     */
    async settled(runId: string, waitMs: number, actor: Actor, signal?: AbortSignal): Promise<RunRecord> {
      const run = await waitRunFinal(deps, runId, waitMs, signal);
      return isFinal(run.status) ? run : get(runId, actor);
    },

    /**
     * The jobs among these with a run queued or running anywhere (what a job's lock_acquired
     * reports). The job lock itself is held only while a fire or a trigger writes its run.
     */
    busyJobs: (jobIds: string[]) => store.busyJobs(jobIds),

    /** A manual run now (TriggerJob); refused naming what is missing when the job has nothing to run. */
    trigger: (job: JobRecord) => {
      if (job.status === "cancelled") throw new CronError("failed_precondition", `job ${job.jobId} is cancelled`);
      checkRunnable(job);
      return createManualRun(job, { trigger: "manual" });
    },

    /** The same request as an earlier run (its job version and slot), linked by replay_of. */
    async replay(runId: string, actor: Actor): Promise<TriggerResult> {
      const original = await get(runId, actor);
      return createManualRun(await jobOf(original), { trigger: "replay", jobVersion: original.jobVersion, scheduledAt: original.scheduledAt, replayOf: runId });
    },

    /**
     * A dead letter again, linked by redrive_of, executing the job as it is now (a redrive usually
     * follows a fix) or the version the failed run executed. A DAG redrive starts with the tasks
     * that succeeded, which are not run again. A dead letter is redriven once: its redrive run's
     * slot key is derived from it, so a second (or concurrent) redrive finds the first and is
     * refused naming it; the entry leaves the queue once its redrive run is stored.
     */
    async redrive(runId: string, version: RedriveVersion, actor: Actor): Promise<TriggerResult> {
      const original = await get(runId, actor);
      if (original.redrivenByRunId) throw alreadyRedriven(original, original.redrivenByRunId);
      if (!inDeadLetterQueue(original)) throw new CronError("failed_precondition", `run ${runId} is ${original.status}, not in the dead-letter queue`);
      const job = await jobOf(original);
      if (version === "current") checkRunnable(job);
      const result = await createManualRun(job, {
        trigger: "redrive",
        jobVersion: version === "original" ? original.jobVersion : job.version,
        scheduledAt: original.scheduledAt,
        redriveOf: runId,
        slotKey: `redrive:${runId}`,
        taskResults: original.taskResults.filter((t) => t.status === "succeeded"),
        refuseWhenBlocked: true,
      });
      await store.markRedriven(runId, result.run.runId, clock.now());
      if (!result.inserted) throw alreadyRedriven(original, result.run.runId);
      return result;
    },

    /** A run for every slot of the job in [start, end); repeating a backfill adopts the runs it made. */
    async backfill(job: JobRecord, start: number, end: number): Promise<RunRecord[]> {
      if (!job.spec.schedule) throw new CronError("failed_precondition", `job ${job.jobId} has no schedule, so no slots to backfill`);
      checkRunnable(job);
      if (end <= start) throw CronError.invalid("end_time", "must be after start_time");
      if (end > clock.now()) throw CronError.invalid("end_time", "must not be in the future");
      const slots = nextFireTimes(job.spec.schedule, job.spec.timezone, start - 1, MAX_BACKFILL_SLOTS + 1, end - 1);
      if (slots.length > MAX_BACKFILL_SLOTS) throw CronError.invalid("end_time", `the range holds more than ${MAX_BACKFILL_SLOTS} slots`);
      const now = clock.now();
      const runs = slots.map((slot) => ({ ...baseRun(job, { trigger: "backfill", scheduledAt: slot }, now), slotKey: `backfill:${slotKeyFor(slot)}` }));
      const results = await store.insertRuns(runs);
      const fresh = results.filter((r) => r.inserted).map((r) => r.run);
      for (const run of fresh) deps.events.publish(run);
      dispatcher.dispatch(fresh.map((run) => ({ run, exclusive: exclusive(job) })));
      return results.map((r) => r.run);
    },
  };
}
