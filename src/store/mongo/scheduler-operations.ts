import type { JobRecord } from "../../domain/job.js";
import type { Filter } from "mongodb";
import type { DueJobRef, Scope, Store } from "../store.js";
import type { MongoCollections } from "./collections.js";
import { fromJobDocument } from "./job-documents.js";
import { advanceSchedules, mergeSchedule, writeSchedule, type ScheduleDocument } from "./job-schedule.js";
import type { JobStatsBook } from "./job-stats.js";

/** The scheduler bookkeeping methods of the store. */
export type SchedulingOperations = Pick<Store, "listDueJobs" | "listDueJobRefs" | "advanceJobs" | "recordRunOutcomes">;

/**
 * How far before the previous sweep a sweep of recent job changes looks: a replica that crashed
 * between a job's write and its state's stamped the job with its own clock, which may lag ours.
 */
export const CHANGE_SWEEP_SKEW_MS = 600_000;
/** Every job is compared with its state at least this often, and at the first due query of a store. */
export const FULL_REPAIR_EVERY_MS = 3_600_000;

/**
 * When the due queries repair the scheduler states a crash left behind their job (see
 * {@link repairStaleSchedules}): the first query and one an hour compare every job; the others
 * only the jobs changed since shortly before the previous query, found through the `updatedAt`
 * index. A state goes stale only by a crash between two writes of one change, and the change is
 * stamped, so the sweep finds it without reading a million jobs every resync.
 */
function createRepairSweep(c: MongoCollections, now: () => number): () => Promise<void> {
  let fullAt = -Infinity;
  let sweptAt = -Infinity;
  return async () => {
    const started = now();
    const full = started - fullAt >= FULL_REPAIR_EVERY_MS;
    await repairStaleSchedules(c, full ? undefined : sweptAt - CHANGE_SWEEP_SKEW_MS);
    if (full) fullAt = started;
    sweptAt = started;
  };
}

/** Builds the scheduler bookkeeping methods on the given collections; `now` is the wall clock of the repair sweeps. */
export function schedulingOperations(c: MongoCollections, stats: JobStatsBook, now: () => number): SchedulingOperations {
  const repair = createRepairSweep(c, now);
  return {
    listDueJobs: (before, limit, scope) => listDueJobs(c, repair, before, limit, scope),
    listDueJobRefs: (before, limit) => listDueJobRefs(c, repair, before, limit),
    advanceJobs: (advances) => advanceSchedules(c, advances),
    recordRunOutcomes: (outcomes) => stats.record(outcomes),
  };
}

/**
 * The scheduler states of the active jobs due at or before `before`, earliest first. First the
 * states a crash left behind their job are repaired (the job versions are compared in one pass
 * over the jobs), so that no job is missed for want of a current state.
 */
async function dueSchedules(
  c: MongoCollections,
  repair: () => Promise<void>,
  before: number,
  limit: number,
  projection?: Record<string, 1>,
  scope?: Scope,
): Promise<ScheduleDocument[]> {
  if (limit <= 0) return [];
  await repair();
  const where: Filter<ScheduleDocument> = { status: "active", nextTriggerAt: { $lte: before } };
  if (scope !== undefined) where.projectId = scope;
  return c.jobSchedule
    .find(where, projection ? { projection } : {})
    .sort({ nextTriggerAt: 1, _id: 1 })
    .limit(Math.floor(limit))
    .toArray();
}

/** The due jobs, each merged with its scheduler state. */
async function listDueJobs(c: MongoCollections, repair: () => Promise<void>, before: number, limit: number, scope?: Scope): Promise<JobRecord[]> {
  const due = await dueSchedules(c, repair, before, limit, undefined, scope);
  if (due.length === 0) return [];
  const docs = await c.jobs.find(due.length === 1 ? { _id: due[0]!._id } : { _id: { $in: due.map((d) => d._id) } }).toArray();
  const jobs = new Map(docs.map((d) => [d._id, fromJobDocument(d)]));
  return due.flatMap((s) => {
    const job = jobs.get(s._id);
    return job ? [mergeSchedule(job, s)] : [];
  });
}

/** The due jobs' references, from their scheduler states alone. */
async function listDueJobRefs(c: MongoCollections, repair: () => Promise<void>, before: number, limit: number): Promise<DueJobRef[]> {
  const due = await dueSchedules(c, repair, before, limit, { _id: 1, jobVersion: 1, nextTriggerAt: 1 });
  return due.map((s) => ({ jobId: s._id, version: s.jobVersion, nextTriggerAt: s.nextTriggerAt! }));
}

/** Ids read by one `$in` query. */
const IN_CHUNK = 1000;

/**
 * Writes the current state of every job whose state is missing or older than the job: of every
 * job, or of the jobs changed at or after `changedSince` (by their `updatedAt`).
 */
async function repairStaleSchedules(c: MongoCollections, changedSince?: number): Promise<void> {
  const projection = { _id: 1, jobVersion: 1, projectId: 1 } as const;
  const versions = await c.jobs.find(changedSince === undefined ? {} : { updatedAt: { $gte: changedSince } }, { projection: { _id: 1, version: 1 } }).toArray();
  const states: Pick<ScheduleDocument, "_id" | "jobVersion" | "projectId">[] = [];
  if (changedSince === undefined) states.push(...(await c.jobSchedule.find({}, { projection }).toArray()));
  else {
    for (let i = 0; i < versions.length; i += IN_CHUNK) {
      const ids = versions.slice(i, i + IN_CHUNK).map((v) => v._id);
      states.push(...(await c.jobSchedule.find({ _id: { $in: ids } }, { projection }).toArray()));
    }
  }
  // A state without its project was written by an earlier version: stale too.
  const stateVersion = new Map(states.map((s) => [s._id, s.projectId === undefined ? -1 : s.jobVersion]));
  const stale = versions.filter((v) => stateVersion.get(v._id) !== v.version).map((v) => v._id);
  for (const jobId of stale) {
    const doc = await c.jobs.findOne({ _id: jobId });
    if (doc) await writeSchedule(c, fromJobDocument(doc));
  }
}
