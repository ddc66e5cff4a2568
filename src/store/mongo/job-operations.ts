import { CronError } from "../../domain/cron-error.js";
import { snapshotOf, type JobRecord } from "../../domain/job.js";
import type { Filter } from "mongodb";
import type { CursorQuery, JobFilter, OffsetQuery, Page, Scope, Store } from "../store.js";
import { jobWriteKey, type MongoCollections } from "./collections.js";
import { fromJobDocument, jobUpdateOf, toJobDocument, type JobDocument } from "./job-documents.js";
import { jobQuery } from "./job-queries.js";
import { writeSnapshots } from "./job-snapshots.js";
import { isStale, mergeSchedule, readSchedules, writeSchedule } from "./job-schedule.js";
import type { JobStatsBook } from "./job-stats.js";
import { isDuplicateKey } from "./mongo-errors.js";
import { countMatching } from "./counting.js";
import { fetchLimit, pageOf } from "./paging.js";
import { offsetStart, offsetWindow } from "../offset-page.js";

/** Ids read by one `$in` query. */
const IN_CHUNK = 1000;

/** The job CRUD and listing methods of the store. */
export type JobOperations = Pick<
  Store,
  "createJob" | "getJob" | "getJobs" | "updateJob" | "deleteJob" | "listJobs" | "listJobsByPage" | "countJobs" | "listDeletedJobs" | "forgetDeletedJob"
>;

/** Builds the job methods on the given collections; run counters come from `stats`. */
export function jobOperations(c: MongoCollections, stats: JobStatsBook): JobOperations {
  const counted = async (jobs: JobRecord[]) => withRunCounters(stats, await withSchedules(c, jobs));
  const one = async (job: JobRecord | undefined) => (job ? (await counted([job]))[0] : undefined);
  return {
    createJob: (job) => createJob(c, job),
    getJob: async (jobId, scope) => one(await getJob(c, jobId, scope)),
    getJobs: async (jobIds) => {
      const out: JobRecord[] = [];
      for (let i = 0; i < jobIds.length; i += IN_CHUNK) {
        const docs = await c.jobs.find({ _id: { $in: jobIds.slice(i, i + IN_CHUNK) } }).toArray();
        out.push(...(await counted(docs.map(fromJobDocument))));
      }
      return out;
    },
    updateJob: async (job, expected) => (await one(await updateJob(c, job, expected)))!,
    deleteJob: (jobId, scope, deletedAt) => c.lock(jobWriteKey(jobId), () => deleteJob(c, jobId, scope, deletedAt)),
    listDeletedJobs: async (before, limit) => {
      const docs = await c.deletedJobs
        .find({ deletedAt: { $lt: before } })
        .sort({ deletedAt: 1 })
        .limit(Math.max(0, Math.floor(limit)))
        .toArray();
      return docs.map((d) => ({ jobId: d._id, deletedAt: d.deletedAt }));
    },
    forgetDeletedJob: async (jobId, deletedAt) => void (await c.deletedJobs.deleteOne({ _id: jobId, deletedAt })),
    listJobs: async (filter, query) => {
      const page = await listJobs(c, filter, query);
      return { ...page, items: await counted(page.items) };
    },
    listJobsByPage: async (filter, query) => {
      const page = await listJobsByPage(c, filter, query);
      return { ...page, items: await counted(page.items) };
    },
    countJobs: (scope) => countMatching(c.jobs, scope === undefined ? {} : { "spec.projectId": scope }),
  };
}

/** Adds each job's scheduler state (see job-schedule.ts), repairing states a crash left behind. */
async function withSchedules(c: MongoCollections, jobs: JobRecord[]): Promise<JobRecord[]> {
  const schedules = await readSchedules(
    c,
    jobs.map((j) => j.jobId),
  );
  const stale = jobs.filter((j) => isStale(j, schedules.get(j.jobId)));
  await Promise.all(stale.map((j) => writeSchedule(c, j)));
  return jobs.map((j) => mergeSchedule(j, schedules.get(j.jobId)));
}

/** Adds the run counters kept apart from the job documents (see job-stats.ts). */
async function withRunCounters(stats: JobStatsBook, jobs: JobRecord[]): Promise<JobRecord[]> {
  const counters = await stats.read(jobs.map((j) => j.jobId));
  return jobs.map((job) => {
    const add = counters.get(job.jobId);
    if (!add) return job;
    const s = job.stats;
    const merged = { ...s, runCount: s.runCount + add.runCount, failCount: s.failCount + add.failCount, skippedCount: s.skippedCount + add.skippedCount };
    if (add.lastRunDurationMs !== undefined) merged.lastRunDurationMs = add.lastRunDurationMs;
    if (add.lastRunStatus !== undefined) merged.lastRunStatus = add.lastRunStatus;
    return { ...job, stats: merged };
  });
}

/**
 * Records the deletion (when timed), deletes the version history, then the job: a crash in
 * between leaves a job whose history is rebuilt from itself on read, never history that a
 * re-created job with the same id would inherit; and a recorded deletion of a job still there,
 * which whoever purges the runs of deleted jobs recognises by the job's creation time.
 */
async function deleteJob(c: MongoCollections, jobId: string, scope: Scope, deletedAt: number | undefined): Promise<boolean> {
  if (!(await c.jobs.findOne(byId(jobId, scope), { projection: { _id: 1 } }))) return false;
  if (deletedAt !== undefined) await c.deletedJobs.replaceOne({ _id: jobId }, { deletedAt }, { upsert: true });
  await c.jobVersions.deleteMany({ jobId });
  await c.jobSchedule.deleteOne({ _id: jobId });
  return (await c.jobs.deleteOne({ _id: jobId })).deletedCount === 1;
}

/**
 * The query of one job within a scope. An exact `_id` match with one more condition is still
 * served by FerretDB without a scan (measured: as fast as `_id` alone).
 */
export function byId(jobId: string, scope: Scope): Filter<JobDocument> {
  return scope === undefined ? { _id: jobId } : { _id: jobId, "spec.projectId": scope };
}

/** Reads one job (of `scope`'s project only, when given). */
export async function getJob(c: MongoCollections, jobId: string, scope?: Scope): Promise<JobRecord | undefined> {
  const doc = await c.jobs.findOne(byId(jobId, scope));
  return doc ? fromJobDocument(doc) : undefined;
}

/** Inserts the job, then its first snapshot (a missing snapshot is repaired on read). */
async function createJob(c: MongoCollections, job: JobRecord): Promise<void> {
  try {
    await c.jobs.insertOne(toJobDocument(job));
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    throw new CronError("already_exists", `job ${JSON.stringify(job.jobId)} already exists`, undefined, { cause: err });
  }
  await Promise.all([writeSnapshots(c, [snapshotOf(job)]), writeSchedule(c, job)]);
}

/** Compare-and-set on the version, serialised in-process per job (see `MongoCollections.lock`). */
async function updateJob(c: MongoCollections, job: JobRecord, expected: number): Promise<JobRecord> {
  if (job.version !== expected + 1) {
    throw CronError.invalid("job.version", `must be ${expected + 1} when updating from version ${expected}`);
  }
  return c.lock(jobWriteKey(job.jobId), () => compareAndSetJob(c, job, expected));
}

/**
 * Writes the new version if the stored one is `expected`, then the snapshots: the previous
 * version's (in case a crash lost it) and the new one. Both inserts are idempotent, so a crash
 * between the steps is repaired by the next update or history read.
 */
async function compareAndSetJob(c: MongoCollections, job: JobRecord, expected: number): Promise<JobRecord> {
  // A job keeps its project: the write matches the stored one.
  const filter = { ...byId(job.jobId, job.spec.projectId), version: expected };
  const before = await c.jobs.findOneAndUpdate(filter, jobUpdateOf(job), { returnDocument: "before" });
  if (!before) throw await casFailure(c, job.jobId, job.spec.projectId, expected);
  const previous = fromJobDocument(before);
  const updated = { ...job, createdAt: previous.createdAt, createdBy: previous.createdBy, stats: previous.stats };
  await Promise.all([writeSnapshots(c, [snapshotOf(previous), snapshotOf(job)]), writeSchedule(c, updated)]);
  return updated;
}

/** Why a compare-and-set on a job matched nothing. */
async function casFailure(c: MongoCollections, jobId: string, scope: Scope, expected: number): Promise<CronError> {
  const current = await c.jobs.findOne(byId(jobId, scope), { projection: { version: 1 } });
  if (!current) return CronError.notFound("job", jobId);
  return new CronError("version_conflict", `job ${JSON.stringify(jobId)} is at version ${current.version}, not ${expected}`);
}

async function listJobs(c: MongoCollections, filter: JobFilter, query: CursorQuery): Promise<Page<JobRecord>> {
  const where = jobQuery(filter);
  if (query.after) where._id = { $gt: query.after };
  const docs = await c.jobs.find(where).sort({ _id: 1 }).limit(fetchLimit(query.pageSize)).toArray();
  return pageOf(docs.map(fromJobDocument), query.pageSize, (j) => j.jobId);
}

async function listJobsByPage(c: MongoCollections, filter: JobFilter, query: OffsetQuery): Promise<{ items: JobRecord[]; total: number }> {
  const where = jobQuery(filter);
  const total = await countMatching(c.jobs, where);
  const w = offsetWindow(total, offsetStart(query), Math.floor(query.limit));
  if (w.take === 0) return { items: [], total };
  const docs = await c.jobs
    .find(where)
    .sort({ _id: w.descending ? -1 : 1 })
    .skip(w.skip)
    .limit(w.take)
    .toArray();
  return { items: (w.descending ? docs.reverse() : docs).map(fromJobDocument), total };
}
