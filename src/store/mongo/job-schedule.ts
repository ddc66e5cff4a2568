import type { Filter, UpdateFilter } from "mongodb";
import type { JobRecord, JobStatus } from "../../domain/job.js";
import type { JobAdvance } from "../store.js";
import { jobWriteKey, type MongoCollections } from "./collections.js";
import { isDuplicateKey } from "./mongo-errors.js";

/** The in-process lock key of a job's scheduler state. */
function scheduleLockKey(jobId: string): string {
  return `schedule:${jobId}`;
}

/**
 * A job's scheduler state, apart from the job document: small, because the fire loop rewrites it
 * for every fired slot (FerretDB rescans a collection for each document it updates, so the cost
 * of an advance grows with the size of the documents next to it).
 */
export interface ScheduleDocument {
  _id: string;
  /** The job's project, so that a project's next runs are one query (absent on states of earlier versions: stale). */
  projectId?: string;
  /** The job version this state belongs to; older means the job changed since (see {@link mergeSchedule}). */
  jobVersion: number;
  status: JobStatus;
  nextTriggerAt?: number;
  lastTriggeredAt?: number;
  skippedCount: number;
  droppedCount: number;
}

/** The schedule state a job version starts with (counters carried over from `previous`). */
export function scheduleOf(job: JobRecord, previous?: ScheduleDocument | null): ScheduleDocument {
  const doc: ScheduleDocument = {
    _id: job.jobId,
    projectId: job.spec.projectId,
    jobVersion: job.version,
    status: job.status,
    skippedCount: previous?.skippedCount ?? job.stats.skippedCount,
    droppedCount: previous?.droppedCount ?? job.stats.droppedCount,
  };
  if (job.nextTriggerAt !== undefined) doc.nextTriggerAt = job.nextTriggerAt;
  const last = previous?.lastTriggeredAt ?? job.stats.lastTriggeredAt;
  if (last !== undefined) doc.lastTriggeredAt = last;
  return doc;
}

/**
 * The job with its scheduler state. A state stamped with the job's version is the truth for
 * next_trigger_at, status and the trigger counters; a missing or older one (a crash between the
 * job's write and its state's) is replaced by the job document's values — the caller repairs it.
 */
export function mergeSchedule(job: JobRecord, schedule: ScheduleDocument | undefined): JobRecord {
  if (!schedule) return job;
  const stats = { ...job.stats, skippedCount: schedule.skippedCount, droppedCount: schedule.droppedCount };
  if (schedule.lastTriggeredAt !== undefined) stats.lastTriggeredAt = schedule.lastTriggeredAt;
  if (schedule.jobVersion !== job.version) return { ...job, stats };
  const merged: JobRecord = { ...job, status: schedule.status, stats };
  if (schedule.nextTriggerAt === undefined) delete merged.nextTriggerAt;
  else merged.nextTriggerAt = schedule.nextTriggerAt;
  return merged;
}

/** True when the state is missing or older than the job (it needs {@link writeSchedule}). */
export function isStale(job: JobRecord, schedule: ScheduleDocument | undefined): boolean {
  return schedule?.jobVersion !== job.version || schedule.projectId === undefined;
}

/**
 * Writes the state of the job's current version (idempotent; counters are kept). Two processes
 * may write a missing state at once (a replica creating the job, the leader repairing states it
 * finds missing): both upserts insert, the unique `_id` lets one in, and the other's duplicate-key
 * failure means the document now exists, so it is written again as an update. MongoDB retries
 * such an upsert itself; FerretDB does not.
 */
export async function writeSchedule(c: MongoCollections, job: JobRecord): Promise<void> {
  const { _id, skippedCount, droppedCount, lastTriggeredAt, ...state } = scheduleOf(job);
  const update: UpdateFilter<ScheduleDocument> = { $set: state, $setOnInsert: { skippedCount, droppedCount } };
  if (lastTriggeredAt !== undefined) update.$setOnInsert = { ...update.$setOnInsert, lastTriggeredAt };
  if (job.nextTriggerAt === undefined) update.$unset = { nextTriggerAt: "" };
  const upsert = () => c.jobSchedule.updateOne({ _id }, update, { upsert: true });
  await c.lock(scheduleLockKey(_id), () => upsert().catch((err: unknown) => (isDuplicateKey(err) ? upsert() : Promise.reject(err))));
}

/** The states of some jobs, keyed by job id. */
export async function readSchedules(c: MongoCollections, jobIds: string[]): Promise<Map<string, ScheduleDocument>> {
  if (jobIds.length === 0) return new Map();
  const filter: Filter<ScheduleDocument> = jobIds.length === 1 ? { _id: jobIds[0]! } : { _id: { $in: jobIds } };
  const docs = await c.jobSchedule.find(filter).toArray();
  return new Map(docs.map((d) => [d._id, d]));
}

/**
 * Compare-and-set of many jobs' next_trigger_at. Advances that write the same change (the jobs of
 * one slot: same expected and next time) form one group and one `updateMany` whose filter holds
 * the expected value, so an aligned batch of thousands of jobs is one write, not thousands. When
 * a group matched fewer jobs than it holds, their states are read back to tell which ones moved.
 */
export async function advanceSchedules(c: MongoCollections, advances: JobAdvance[]): Promise<boolean[]> {
  const groups = new Map<string, JobAdvance[]>();
  for (const a of advances) {
    const key = JSON.stringify({ ...a, jobId: undefined });
    groups.set(key, [...(groups.get(key) ?? []), a]);
  }
  const moved = new Set<string>();
  await Promise.all(
    [...groups.values()].map(async (group) => {
      for (const jobId of await advanceGroup(c, group)) moved.add(jobId);
    }),
  );
  await mirrorStatuses(
    c,
    advances.filter((a) => a.status !== undefined && moved.has(a.jobId)),
  );
  return advances.map((a) => moved.has(a.jobId));
}

/**
 * Copies a status the scheduler set (a one-shot job completing) onto the job document of the
 * version it was decided for, which job listings filter on: reads merge the state anyway, but a
 * listing by status must find the job under its new status. A crash between the two writes
 * leaves the listing seeing the old status until the job's next change.
 */
async function mirrorStatuses(c: MongoCollections, advances: JobAdvance[]): Promise<void> {
  if (advances.length === 0) return;
  const states = await readSchedules(
    c,
    advances.map((a) => a.jobId),
  );
  await Promise.all(
    advances.map((a) => {
      const state = states.get(a.jobId);
      if (!state || state.status !== a.status) return undefined;
      return c.lock(jobWriteKey(a.jobId), () => c.jobs.updateOne({ _id: a.jobId, version: state.jobVersion }, { $set: { status: a.status! } }));
    }),
  );
}

/** One group's `updateMany`; returns the ids of the jobs it advanced. */
async function advanceGroup(c: MongoCollections, group: JobAdvance[]): Promise<string[]> {
  const ids = group.map((a) => a.jobId);
  const first = group[0]!;
  const filter = { _id: ids.length === 1 ? ids[0] : { $in: ids }, nextTriggerAt: first.expectedNextTriggerAt ?? null } as Filter<ScheduleDocument>;
  const result = await c.lock(ids.map(scheduleLockKey), () => c.jobSchedule.updateMany(filter, advanceUpdate(first)));
  if (result.matchedCount === ids.length) return ids;
  if (result.matchedCount === 0) return [];
  const after = await readSchedules(c, ids);
  return ids.filter((id) => {
    const d = after.get(id);
    return d !== undefined && d.nextTriggerAt === first.nextTriggerAt && (first.status === undefined || d.status === first.status);
  });
}

/** The update of one advance; empty operators are left out (some servers reject them). */
function advanceUpdate(a: JobAdvance): UpdateFilter<ScheduleDocument> {
  const set: Record<string, unknown> = {};
  if (a.nextTriggerAt !== undefined) set.nextTriggerAt = a.nextTriggerAt;
  if (a.lastTriggeredAt !== undefined) set.lastTriggeredAt = a.lastTriggeredAt;
  if (a.status !== undefined) set.status = a.status;
  const inc: Record<string, number> = {};
  if (a.skipped) inc.skippedCount = a.skipped;
  if (a.dropped) inc.droppedCount = a.dropped;
  const update: Record<string, unknown> = {};
  if (Object.keys(set).length > 0) update.$set = set;
  if (Object.keys(inc).length > 0) update.$inc = inc;
  if (a.nextTriggerAt === undefined) update.$unset = { nextTriggerAt: "" };
  return update as UpdateFilter<ScheduleDocument>;
}
