import type { Collection, Db } from "mongodb";
import type { JobDocument, JobVersionDocument } from "./job-documents.js";
import { createKeyedLock, type KeyedLock } from "./keyed-lock.js";
import type { RunDocument } from "./run-documents.js";

/** The collections of one cronmesh database, and the lock serialising writes to one document. */
export interface MongoCollections {
  jobs: Collection<JobDocument>;
  jobVersions: Collection<JobVersionDocument>;
  runs: Collection<RunDocument>;
  /** Serialises in-process writes that read and modify existing documents; see {@link createKeyedLock}. */
  lock: KeyedLock;
}

/** Binds the cronmesh collections of a database (nothing is created until written or indexed). */
export function collectionsOf(db: Db): MongoCollections {
  return {
    jobs: db.collection<JobDocument>("jobs"),
    jobVersions: db.collection<JobVersionDocument>("job_versions"),
    runs: db.collection<RunDocument>("runs"),
    lock: createKeyedLock(),
  };
}

/** The lock key of a job document. */
export function jobLockKey(jobId: string): string {
  return `job:${jobId}`;
}

/** The lock key of the runs of a job (run updates and bulk cancellation share it). */
export function runsLockKey(jobId: string): string {
  return `runs:${jobId}`;
}
