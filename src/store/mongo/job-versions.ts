import { snapshotOf, type JobVersionRecord } from "../../domain/job.js";
import type { Filter } from "mongodb";
import type { Scope, Store } from "../store.js";
import type { MongoCollections } from "./collections.js";
import { fromVersionDocument, type JobVersionDocument } from "./job-documents.js";
import { getJob } from "./job-operations.js";
import { writeSnapshots } from "./job-snapshots.js";

/** The version history methods of the store. */
export type VersionOperations = Pick<Store, "listJobVersions" | "getJobVersion">;

/** Builds the version history methods on the given collections. */
export function versionOperations(c: MongoCollections): VersionOperations {
  return {
    listJobVersions: (jobId, pageSize, before, scope) => listJobVersions(c, jobId, pageSize, before, scope),
    getJobVersion: (jobId, version, scope) => getJobVersion(c, jobId, version, scope),
  };
}

/** The query of a job's snapshots within a scope (a snapshot holds its project in its spec). */
function versionsOf(jobId: string, scope: Scope): Filter<JobVersionDocument> {
  return scope === undefined ? { jobId } : { jobId, "spec.projectId": scope };
}

async function readVersions(c: MongoCollections, jobId: string, pageSize: number, before: number | undefined, scope: Scope) {
  const limit = Math.max(0, Math.floor(pageSize));
  if (limit === 0) return [];
  const where = before === undefined ? versionsOf(jobId, scope) : { ...versionsOf(jobId, scope), version: { $lt: before } };
  const docs = await c.jobVersions.find(where).sort({ version: -1 }).limit(limit).toArray();
  return docs.map(fromVersionDocument);
}

/**
 * Newest-first history. Only the job's current snapshot can be missing (an update that crashed
 * between its two steps); when it is in range and absent, it is written and the page re-read.
 */
async function listJobVersions(c: MongoCollections, jobId: string, pageSize: number, before: number | undefined, scope: Scope): Promise<JobVersionRecord[]> {
  const [versions, job] = await Promise.all([readVersions(c, jobId, pageSize, before, scope), getJob(c, jobId, scope)]);
  const inRange = job !== undefined && (before === undefined || job.version < before);
  if (!inRange || versions.some((v) => v.version === job.version)) return versions;
  await writeSnapshots(c, [snapshotOf(job)]);
  return readVersions(c, jobId, pageSize, before, scope);
}

/** One snapshot; the job's current one is written on the fly when a crash lost it. */
async function getJobVersion(c: MongoCollections, jobId: string, version: number, scope: Scope): Promise<JobVersionRecord | undefined> {
  const doc = await c.jobVersions.findOne({ ...versionsOf(jobId, scope), version });
  if (doc) return fromVersionDocument(doc);
  const job = await getJob(c, jobId, scope);
  if (job?.version !== version) return undefined;
  await writeSnapshots(c, [snapshotOf(job)]);
  return snapshotOf(job);
}
