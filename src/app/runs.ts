import { jobLockKey } from "../coordination/coordinator.js";
import { CronError } from "../domain/cron-error.js";
import type { JobRecord } from "../domain/job.js";
import { decideOverlap } from "../domain/overlap.js";
import { isFinal, slotKeyFor, type RunRecord, type RunTrigger } from "../domain/run.js";
import { nextFireTimes } from "../domain/schedule.js";
import { continuedTrace } from "../telemetry/run-tracing.js";
import type { AppDeps } from "./deps.js";

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
/** How often CancelRun looks for the final state another replica may have written. */
const CANCEL_POLL_MS = 50;
/** Most active runs of one job read for a concurrency decision. */
const MAX_ACTIVE_READ = 10_000;

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
}

/** Run use cases: manual triggers, replay, redrive, backfill, cancel and reads. */
export type RunCommands = ReturnType<typeof createRunCommands>;

/** Creates the run use cases. */
export function createRunCommands(deps: AppDeps) {
  const { store, clock, coordinator, dispatcher, canceller } = deps;

  const baseRun = (job: JobRecord, input: ManualRunInput, now: number): RunRecord => {
    const runId = deps.ids("run");
    return {
      runId, jobId: job.jobId, jobVersion: input.jobVersion ?? job.version, projectId: job.spec.projectId,
      slotKey: `${input.trigger}:${runId}`, scheduledAt: input.scheduledAt ?? now, dueAt: now, trigger: input.trigger,
      status: "queued", attempts: [], result: "", error: "", nodeId: coordinator.nodeId,
      replayOf: input.replayOf ?? "", redriveOf: input.redriveOf ?? "", taskResults: [], createdAt: now, updatedAt: now, revision: 1,
      // A manual run continues the caller's trace: the RPC span active here is its parent.
      ...continuedTrace(),
    };
  };

  const skippedRun = (run: RunRecord, now: number): RunRecord => ({
    ...run, status: "skipped", finishedAt: now, result: "skipped: a run of the job is still running (forbid)",
  });

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
  const activeRuns = (jobId: string) => store.listActiveRuns({ jobIds: [jobId], limit: MAX_ACTIVE_READ });

  const exclusive = (job: JobRecord) => job.spec.concurrencyPolicy !== "allow";

  /** Starts the cancellation of a run still active, wherever it executes. */
  const cancelActive = async (runId: string, reason: string) => {
    const run = await store.getRun(runId);
    if (run && !isFinal(run.status)) await canceller.cancel(run, reason);
  };

  /** The one path of every manual run: job lock, concurrency policy, insert, dispatch. */
  const createManualRun = async (job: JobRecord, input: ManualRunInput): Promise<TriggerResult> => {
    const now = clock.now();
    const lock = await coordinator.tryLock(jobLockKey(job.jobId), { ttlMs: TRIGGER_LOCK_TTL_MS });
    if (!lock) deps.metrics.lockFailure();
    try {
      const active = lock ? await activeRuns(job.jobId) : [];
      const overlap = lock ? decideOverlap(job.spec.concurrencyPolicy, active.map((r) => r.runId)) : { action: "skip" as const };
      if (overlap.action === "replace") await Promise.all(active.map((r) => cancelActive(r.runId, "replaced by a manual run")));
      const run = baseRun(job, input, now);
      const [result] = await store.insertRuns([overlap.action === "skip" ? skippedRun(run, now) : run]);
      const stored = result!.run;
      deps.events.publish(stored);
      dispatcher.dispatch([{ run: stored, exclusive: exclusive(job) }]);
      await stampTriggered(job, now);
      return { run: stored, lockAcquired: overlap.action !== "skip", triggeredAt: now };
    } finally {
      await lock?.release();
    }
  };

  /**
   * A run as it stands: the live state of a run executing (its steps reach the store only at
   * checkpoints), else the stored one. A live state that is final is not stored yet: until it
   * is, the stored state answers, so that no caller acts on a final state the store lacks.
   */
  const get = async (runId: string): Promise<RunRecord> => {
    const [run, live] = await Promise.all([store.getRun(runId), deps.liveRun?.(runId)]);
    if (!run) throw CronError.notFound("run", runId);
    return live && !isFinal(live.status) && !isFinal(run.status) ? live : run;
  };

  const jobOf = async (run: RunRecord): Promise<JobRecord> => {
    const job = await store.getJob(run.jobId);
    if (!job) throw new CronError("failed_precondition", `job ${run.jobId} of run ${run.runId} no longer exists`);
    return job;
  };

  /** Cancels a queued or running run wherever it executes; a running HTTP request is aborted. */
  async function cancel(runId: string, reason: string): Promise<RunRecord> {
    const run = await get(runId);
    if (isFinal(run.status)) throw new CronError("failed_precondition", `run ${runId} is already ${run.status}`);
    await canceller.cancel(run, reason);
    return waitFinal(runId);
  }

  /**
   * Resolves with the run once it is final, or as it stands after a bounded wait. The final state
   * may be written by another replica, so the store is polled besides this replica's events.
   */
  async function waitFinal(runId: string): Promise<RunRecord> {
    const deadline = clock.now() + CANCEL_WAIT_MS;
    let seen: RunRecord | undefined;
    const off = deps.events.subscribe({}, (r) => {
      if (r.runId === runId && isFinal(r.status)) seen = r;
    });
    try {
      for (;;) {
        const stored = seen ?? (await get(runId));
        if (isFinal(stored.status) || clock.now() >= deadline) return stored;
        await new Promise<void>((resolve) => clock.setTimer(CANCEL_POLL_MS, resolve));
      }
    } finally {
      off();
    }
  }

  return {
    get,
    cancel,

    /** True while a run of the job is queued or running anywhere (what GetJob reports as lock_acquired). */
    isBusy: async (jobId: string) => (await store.listActiveRuns({ jobIds: [jobId], limit: 1 })).length > 0,

    /** A manual run now (TriggerJob). */
    trigger: (job: JobRecord) => createManualRun(job, { trigger: "manual" }),

    /** The same request as an earlier run (its job version and slot), linked by replay_of. */
    async replay(runId: string): Promise<TriggerResult> {
      const original = await get(runId);
      return createManualRun(await jobOf(original), { trigger: "replay", jobVersion: original.jobVersion, scheduledAt: original.scheduledAt, replayOf: runId });
    },

    /** A dead-lettered run again, linked by redrive_of. */
    async redrive(runId: string): Promise<TriggerResult> {
      const original = await get(runId);
      if (original.status !== "dead_lettered") throw new CronError("failed_precondition", `run ${runId} is ${original.status}, not dead_lettered`);
      return createManualRun(await jobOf(original), { trigger: "redrive", jobVersion: original.jobVersion, scheduledAt: original.scheduledAt, redriveOf: runId });
    },

    /** A run for every slot of the job in [start, end); repeating a backfill adopts the runs it made. */
    async backfill(job: JobRecord, start: number, end: number): Promise<RunRecord[]> {
      if (!job.spec.schedule) throw new CronError("failed_precondition", `job ${job.jobId} is one-shot and has no slots to backfill`);
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
