import type { Store } from "../store/store.js";
import { createLeaderSweep, type LeaderSweep, type LeaderSweepDeps } from "./leader-sweep.js";

/** Runs deleted per store call (a bounded pause per chunk). */
export const PURGE_CHUNK = 500;
/** Most chunks one job's purge deletes: far beyond a history limit (10,000) plus a dead-letter queue. */
const MAX_PURGE_CHUNKS = 1000;
/** Recorded deletions read per sweep step. */
const DELETIONS_CHUNK = 100;
/** Most steps of one sweep: it picks up where it stopped at the next one. */
const MAX_SWEEP_STEPS = 1000;
/** How often the leader sweeps: the retention counts in days, so an hour's precision is plenty. */
export const DELETED_JOB_SWEEP_MS = 3_600_000;

/**
 * Deletes the finished runs (dead letters included) of a job created before `createdBefore`, in
 * chunks, each after `between()` (when given); returns how many. Runs not final are left: their
 * replicas end them, as runs of a job that is gone.
 */
export async function purgeJobRuns(store: Store, jobId: string, createdBefore: number, between?: () => Promise<void>): Promise<number> {
  let total = 0;
  for (let i = 0; i < MAX_PURGE_CHUNKS; i++) {
    await between?.();
    const deleted = await store.purgeRuns(jobId, createdBefore, PURGE_CHUNK);
    total += deleted;
    if (deleted < PURGE_CHUNK) break;
  }
  return total;
}

/** What the retention of deleted jobs' runs needs: runs of a job deleted longer ago than `retentionMs` are deleted. */
export type DeletedJobRunsDeps = LeaderSweepDeps;

/** The periodic sweep of deleted jobs' runs. */
export type DeletedJobRuns = LeaderSweep;

/**
 * Deletes, on the leader, the runs of jobs deleted longer ago than the retention, then forgets
 * each deletion. A deletion recorded for a job that is still there and older than it was never
 * carried out (the store failed between the two writes): it is forgotten, its runs kept. A job
 * re-created under the same id keeps its own runs: only runs created before the deletion go.
 */
export function createDeletedJobRuns(deps: DeletedJobRunsDeps): DeletedJobRuns {
  const purgeOne = async (jobId: string, deletedAt: number) => {
    const job = await deps.store.getJob(jobId);
    const purged = job && job.createdAt <= deletedAt ? 0 : await purgeJobRuns(deps.store, jobId, deletedAt + 1, deps.betweenSlots);
    await deps.store.forgetDeletedJob(jobId, deletedAt);
    deps.metrics.deletedJobRunsPurged(purged);
    return purged;
  };
  return createLeaderSweep(deps, DELETED_JOB_SWEEP_MS, "deleted jobs' runs", async (halt) => {
    let total = 0;
    for (let step = 0; step < MAX_SWEEP_STEPS; step++) {
      await deps.betweenSlots?.();
      if (halt()) return total;
      const deletions = await deps.store.listDeletedJobs(deps.clock.now() - deps.retentionMs, DELETIONS_CHUNK);
      for (const d of deletions) {
        if (halt()) return total;
        total += await purgeOne(d.jobId, d.deletedAt);
      }
      if (deletions.length < DELETIONS_CHUNK) break;
    }
    return total;
  });
}
