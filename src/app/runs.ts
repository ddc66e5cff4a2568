import { jobLockKey } from "../coordination/coordinator.js";
import { CronError } from "../domain/cron-error.js";
import type { JobRecord } from "../domain/job.js";
import type { RunRecord, RunTrigger } from "../domain/run.js";
import type { AppDeps } from "./deps.js";

/** How long a manual trigger may hold the job lock while it records its run. */
const TRIGGER_LOCK_TTL_MS = 10_000;
/** Bounded retries of the last_triggered_at compare-and-set when the fire loop races us. */
const STAMP_RETRIES = 3;

/** Outcome of a manual trigger. */
export interface TriggerResult {
  run: RunRecord;
  lockAcquired: boolean;
  triggeredAt: number;
}

/** Run use cases: manual triggers, reads, and the clean-up of a deleted job. */
export type RunCommands = ReturnType<typeof createRunCommands>;

/** Creates the run use cases. */
export function createRunCommands(deps: AppDeps) {
  const { store, clock, coordinator } = deps;

  const newRun = (job: JobRecord, trigger: RunTrigger, now: number, status: RunRecord["status"]): RunRecord => {
    const runId = deps.ids("run");
    return {
      runId,
      jobId: job.jobId,
      jobVersion: job.version,
      projectId: job.spec.projectId,
      slotKey: `${trigger}:${runId}`,
      scheduledAt: now,
      dueAt: now,
      trigger,
      status,
      attempts: [],
      result: status === "skipped" ? "skipped: concurrency policy forbids overlapping runs" : "",
      error: "",
      nodeId: coordinator.nodeId,
      traceId: "",
      replayOf: "",
      redriveOf: "",
      taskResults: [],
      createdAt: now,
      updatedAt: now,
      ...(status === "skipped" ? { finishedAt: now } : {}),
      revision: 1,
    };
  };

  const stampTriggered = async (jobId: string, at: number) => {
    for (let i = 0; i < STAMP_RETRIES; i++) {
      const job = await store.getJob(jobId);
      if (!job) return;
      const [ok] = await store.advanceJobs([
        { jobId, expectedNextTriggerAt: job.nextTriggerAt, nextTriggerAt: job.nextTriggerAt, lastTriggeredAt: at },
      ]);
      if (ok) return;
    }
  };

  /** True when the job has a run that is still running (what forbid guards against). */
  const hasRunning = async (jobId: string) => (await store.listRuns({ jobId, status: "running", pageSize: 1 })).items.length > 0;

  return {
    /**
     * Creates a manual run now under the job's lock. When the lock is held elsewhere, or the
     * job's policy is forbid and a run is still running, the run is recorded as skipped and
     * lockAcquired is false.
     */
    async trigger(job: JobRecord): Promise<TriggerResult> {
      const now = clock.now();
      const lock = await coordinator.tryLock(jobLockKey(job.jobId), TRIGGER_LOCK_TTL_MS);
      try {
        const blocked = !lock || (job.spec.concurrencyPolicy === "forbid" && (await hasRunning(job.jobId)));
        const [result] = await store.insertRuns([newRun(job, "manual", now, blocked ? "skipped" : "queued")]);
        await stampTriggered(job.jobId, now);
        return { run: result!.run, lockAcquired: !blocked, triggeredAt: now };
      } finally {
        await lock?.release();
      }
    },

    /** Cancels the queued runs of a job that is being deleted. */
    cancelQueued: (jobId: string) => store.cancelQueuedRuns(jobId, clock.now()),

    /** One run; not_found when missing. */
    async get(runId: string): Promise<RunRecord> {
      const run = await store.getRun(runId);
      if (!run) throw CronError.notFound("run", runId);
      return run;
    },
  };
}
