import type { JobRecord } from "../../domain/job.js";
import type { Filter } from "mongodb";
import type { DueJobRef, Scope, Store } from "../store.js";
import type { MongoCollections } from "./collections.js";
import { fromJobDocument } from "./job-documents.js";
import { advanceSchedules, mergeSchedule, writeSchedule, type ScheduleDocument } from "./job-schedule.js";
import type { JobStatsBook } from "./job-stats.js";

/** The scheduler bookkeeping methods of the store. */
export type SchedulingOperations = Pick<Store, "listDueJobs" | "listDueJobRefs" | "advanceJobs" | "recordRunOutcomes">;

/** Builds the scheduler bookkeeping methods on the given collections. */
export function schedulingOperations(c: MongoCollections, stats: JobStatsBook): SchedulingOperations {
  return {
    listDueJobs: (before, limit, scope) => listDueJobs(c, before, limit, scope),
    listDueJobRefs: (before, limit) => listDueJobRefs(c, before, limit),
    advanceJobs: (advances) => advanceSchedules(c, advances),
    recordRunOutcomes: (outcomes) => stats.record(outcomes),
  };
}

/**
 * The scheduler states of the active jobs due at or before `before`, earliest first. First the
 * states a crash left behind their job are repaired (the job versions are compared in one pass
 * over the jobs), so that no job is missed for want of a current state.
 */
async function dueSchedules(c: MongoCollections, before: number, limit: number, projection?: Record<string, 1>, scope?: Scope): Promise<ScheduleDocument[]> {
  if (limit <= 0) return [];
  await repairStaleSchedules(c);
  const where: Filter<ScheduleDocument> = { status: "active", nextTriggerAt: { $lte: before } };
  if (scope !== undefined) where.projectId = scope;
  return c.jobSchedule
    .find(where, projection ? { projection } : {})
    .sort({ nextTriggerAt: 1, _id: 1 })
    .limit(Math.floor(limit))
    .toArray();
}

/** The due jobs, each merged with its scheduler state. */
async function listDueJobs(c: MongoCollections, before: number, limit: number, scope?: Scope): Promise<JobRecord[]> {
  const due = await dueSchedules(c, before, limit, undefined, scope);
  if (due.length === 0) return [];
  const docs = await c.jobs.find(due.length === 1 ? { _id: due[0]!._id } : { _id: { $in: due.map((d) => d._id) } }).toArray();
  const jobs = new Map(docs.map((d) => [d._id, fromJobDocument(d)]));
  return due.flatMap((s) => {
    const job = jobs.get(s._id);
    return job ? [mergeSchedule(job, s)] : [];
  });
}

/** The due jobs' references, from their scheduler states alone. */
async function listDueJobRefs(c: MongoCollections, before: number, limit: number): Promise<DueJobRef[]> {
  const due = await dueSchedules(c, before, limit, { _id: 1, jobVersion: 1, nextTriggerAt: 1 });
  return due.map((s) => ({ jobId: s._id, version: s.jobVersion, nextTriggerAt: s.nextTriggerAt! }));
}

/** Writes the current state of every job whose state is missing or older than the job. */
async function repairStaleSchedules(c: MongoCollections): Promise<void> {
  const [versions, states] = await Promise.all([
    c.jobs.find({}, { projection: { _id: 1, version: 1 } }).toArray(),
    c.jobSchedule.find({}, { projection: { _id: 1, jobVersion: 1, projectId: 1 } }).toArray(),
  ]);
  // A state without its project was written by an earlier version: stale too.
  const stateVersion = new Map(states.map((s) => [s._id, s.projectId === undefined ? -1 : s.jobVersion]));
  const stale = versions.filter((v) => stateVersion.get(v._id) !== v.version).map((v) => v._id);
  for (const jobId of stale) {
    const doc = await c.jobs.findOne({ _id: jobId });
    if (doc) await writeSchedule(c, fromJobDocument(doc));
  }
}
