import type { Collection, Db } from "mongodb";
import type { JobDocument, JobVersionDocument } from "./job-documents.js";
import type { ScheduleDocument } from "./job-schedule.js";
import type { JobStatsDocument } from "./job-stats.js";
import { createKeyedLock, type KeyedLock } from "./keyed-lock.js";
import type { ActiveDocument, RunDocument } from "./run-documents.js";

/**
 * The collections of one cronmesh database, and the lock serialising writes to one document.
 *
 * Runs live in four collections, so that the hot path is made of batched inserts and the few
 * documents that change are tiny (FerretDB decodes every document a query scans, and rescans a
 * collection for every document it updates or deletes):
 * - `runs` holds each run as created; its unique (jobId, slotKey) index is the slot registry
 *   that makes a slot fire once. Never updated.
 * - `run_active` holds a reference (id, job, status) to every run not final yet: small, because
 *   runs leave it when they finish.
 * - `run_progress` holds the current state of runs whose progress was stored (slow runs only).
 * - `run_finals` holds the final state of finished runs. Its unique `_id` makes finishing a run
 *   a first-writer-wins insert: of two racing finishers (a worker and a cancel, or two workers
 *   after a lost claim) exactly one is stored.
 * The current state of a run is its final, else its progress, else its created document.
 */
export interface MongoCollections {
  jobs: Collection<JobDocument>;
  jobVersions: Collection<JobVersionDocument>;
  /** Run counters, in documents each owned by one store instance (see job-stats.ts). */
  jobStats: Collection<JobStatsDocument>;
  /** Scheduler state of jobs (see job-schedule.ts). */
  jobSchedule: Collection<ScheduleDocument>;
  runs: Collection<RunDocument>;
  runActive: Collection<ActiveDocument>;
  runProgress: Collection<RunDocument>;
  runFinals: Collection<RunDocument>;
  /** Deleted jobs whose runs are still kept: `_id` is the job id (see Store.listDeletedJobs). */
  deletedJobs: Collection<DeletedJobDocument>;
  /** Serialises in-process writes that read and modify existing documents; see {@link createKeyedLock}. */
  lock: KeyedLock;
}

/** A recorded job deletion. */
export interface DeletedJobDocument {
  _id: string;
  deletedAt: number;
}

/** Binds the cronmesh collections of a database (nothing is created until written or indexed). */
export function collectionsOf(db: Db): MongoCollections {
  return {
    jobs: db.collection<JobDocument>("jobs"),
    jobVersions: db.collection<JobVersionDocument>("job_versions"),
    jobStats: db.collection<JobStatsDocument>("job_stats"),
    jobSchedule: db.collection<ScheduleDocument>("job_schedule"),
    runs: db.collection<RunDocument>("runs"),
    runActive: db.collection<ActiveDocument>("run_active"),
    runProgress: db.collection<RunDocument>("run_progress"),
    runFinals: db.collection<RunDocument>("run_finals"),
    deletedJobs: db.collection<DeletedJobDocument>("deleted_jobs"),
    lock: createKeyedLock(),
  };
}

/** The in-process lock key serialising this store's writes to one job document (not the coordinator's job lock). */
export function jobWriteKey(jobId: string): string {
  return `job:${jobId}`;
}

/** The lock key of a run's progress document. */
export function runLockKey(runId: string): string {
  return `run:${runId}`;
}
