import { jobLockKey } from "../coordination/coordinator.js";
import { CronError } from "../domain/cron-error.js";
import type { JobRecord } from "../domain/job.js";
import { decideOverlap } from "../domain/overlap.js";
import { isFinal, slotKeyFor, type RunRecord, type RunTrigger } from "../domain/run.js";
import { nextFireTimes } from "../domain/schedule.js";
import { continuedTrace } from "../telemetry/run-tracing.js";
import type { AppDeps } from "./deps.js";

/** How long a manual trigger may hold the job lock while it records its run. */
const TRIGGER_LOCK_TTL_MS = 10_000;
/** Bounded retries of the last_triggered_at compare-and-set when the fire loop races us. */
const STAMP_RETRIES = 3;
/** One backfill creates at most this many runs; a larger range is refused rather than truncated. */
export const MAX_BACKFILL_SLOTS = 1000;
/** How long CancelRun waits for a running run to record its cancellation. */
const CANCEL_WAIT_MS = 5000;

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
  const { store, clock, coordinator, dispatcher } = deps;

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

  /** Runs of the job still queued or running anywhere: this node's, then the store's. */
  const activeRuns = async (jobId: string): Promise<string[]> => {
    const local = dispatcher.activeRuns(jobId);
    if (local.length > 0) return local;
    const [queued, running] = await Promise.all([
      store.listRuns({ jobId, status: "queued", pageSize: 10 }),
      store.listRuns({ jobId, status: "running", pageSize: 10 }),
    ]);
    return [...queued.items, ...running.items].map((r) => r.runId);
  };

  /** The one path of every manual run: job lock, concurrency policy, insert, dispatch. */
  const createManualRun = async (job: JobRecord, input: ManualRunInput): Promise<TriggerResult> => {
    const now = clock.now();
    const lock = await coordinator.tryLock(jobLockKey(job.jobId), TRIGGER_LOCK_TTL_MS);
    if (!lock) deps.metrics.lockFailure();
    try {
      const overlap = lock ? decideOverlap(job.spec.concurrencyPolicy, await activeRuns(job.jobId)) : { action: "skip" as const };
      if (overlap.action === "replace") for (const runId of overlap.cancel) await cancel(runId, "replaced by a manual run");
      const run = baseRun(job, input, now);
      const [result] = await store.insertRuns([overlap.action === "skip" ? skippedRun(run, now) : run]);
      const stored = result!.run;
      deps.events.publish(stored);
      if (stored.status === "queued") dispatcher.submit(stored, job.spec.concurrencyPolicy !== "allow", stored.jobVersion === job.version ? job.spec : undefined);
      await stampTriggered(job, now);
      return { run: stored, lockAcquired: overlap.action !== "skip", triggeredAt: now };
    } finally {
      await lock?.release();
    }
  };

  const get = async (runId: string): Promise<RunRecord> => {
    const run = await store.getRun(runId);
    if (!run) throw CronError.notFound("run", runId);
    return run;
  };

  const jobOf = async (run: RunRecord): Promise<JobRecord> => {
    const job = await store.getJob(run.jobId);
    if (!job) throw new CronError("failed_precondition", `job ${run.jobId} of run ${run.runId} no longer exists`);
    return job;
  };

  /** Cancels a queued or running run; a running HTTP request is aborted. */
  async function cancel(runId: string, reason: string): Promise<RunRecord> {
    const run = await get(runId);
    if (isFinal(run.status)) throw new CronError("failed_precondition", `run ${runId} is already ${run.status}`);
    if (dispatcher.cancel(runId, reason)) return waitFinal(runId);
    const now = clock.now();
    const next: RunRecord = { ...run, status: "cancelled", finishedAt: now, updatedAt: now, error: reason, revision: run.revision + 1 };
    await store.updateRun(next, run.revision);
    deps.events.publish(next);
    return next;
  }

  /** Resolves with the run once it is final (or as it stands after a bounded wait). */
  function waitFinal(runId: string): Promise<RunRecord> {
    return new Promise((resolve) => {
      const timer = clock.setTimer(CANCEL_WAIT_MS, () => {
        off();
        void get(runId).then(resolve);
      });
      const off = deps.events.subscribe({}, (r) => {
        if (r.runId !== runId || !isFinal(r.status)) return;
        off();
        timer.cancel();
        resolve(r);
      });
    });
  }

  return {
    get,
    cancel,

    /** True while a run of the job waits or executes on this node (what GetJob reports as lock_acquired). */
    isBusy: (jobId: string) => dispatcher.activeRuns(jobId).length > 0,

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
      for (const { run, inserted } of results) {
        if (!inserted) continue;
        deps.events.publish(run);
        dispatcher.submit(run, job.spec.concurrencyPolicy !== "allow", job.spec);
      }
      return results.map((r) => r.run);
    },
  };
}
