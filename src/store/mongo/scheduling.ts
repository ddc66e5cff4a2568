import type { Filter, UpdateFilter } from "mongodb";
import type { JobRecord } from "../../domain/job.js";
import type { JobAdvance, Store } from "../store.js";
import { jobLockKey, type MongoCollections } from "./collections.js";
import { fromJobDocument, type JobDocument } from "./job-documents.js";
import type { JobStatsBook } from "./job-stats.js";

/** The scheduler bookkeeping methods of the store. */
export type SchedulingOperations = Pick<Store, "listDueJobs" | "advanceJobs" | "recordRunOutcomes">;

/** Builds the scheduler bookkeeping methods on the given collections. */
export function schedulingOperations(c: MongoCollections, stats: JobStatsBook): SchedulingOperations {
  return {
    listDueJobs: (before, limit) => listDueJobs(c, before, limit),
    advanceJobs: (advances) => advanceJobs(c, advances),
    recordRunOutcomes: (outcomes) => stats.record(outcomes),
  };
}

async function listDueJobs(c: MongoCollections, before: number, limit: number): Promise<JobRecord[]> {
  if (limit <= 0) return [];
  const docs = await c.jobs
    .find({ status: "active", nextTriggerAt: { $lte: before } })
    .sort({ nextTriggerAt: 1, _id: 1 })
    .limit(Math.floor(limit))
    .toArray();
  return docs.map(fromJobDocument);
}

/**
 * Compare-and-set of many jobs' next_trigger_at. Advances that write the same change (the jobs of
 * one slot: same expected and next time) form one group and one `updateMany` whose filter holds
 * the expected value, so an aligned batch of thousands of jobs is one write, not thousands. When
 * a group matched fewer jobs than it holds, the jobs are read back to tell which ones moved.
 */
async function advanceJobs(c: MongoCollections, advances: JobAdvance[]): Promise<boolean[]> {
  const groups = new Map<string, JobAdvance[]>();
  for (const a of advances) {
    const key = JSON.stringify({ ...a, jobId: undefined });
    groups.set(key, [...(groups.get(key) ?? []), a]);
  }
  const moved = new Set<string>();
  await Promise.all([...groups.values()].map(async (group) => {
    for (const jobId of await advanceGroup(c, group)) moved.add(jobId);
  }));
  return advances.map((a) => moved.has(a.jobId));
}

/** One group's `updateMany`; returns the ids of the jobs it advanced. */
async function advanceGroup(c: MongoCollections, group: JobAdvance[]): Promise<string[]> {
  const ids = group.map((a) => a.jobId);
  const first = group[0]!;
  const filter = { _id: { $in: ids }, nextTriggerAt: first.expectedNextTriggerAt ?? null } as Filter<JobDocument>;
  const keys = ids.map(jobLockKey);
  const result = await c.lock(keys, () => c.jobs.updateMany(filter, advanceUpdate(first)));
  if (result.matchedCount === ids.length) return ids;
  if (result.matchedCount === 0) return [];
  const after = await c.jobs.find({ _id: { $in: ids } }, { projection: { nextTriggerAt: 1, status: 1 } }).toArray();
  return after.filter((d) => d.nextTriggerAt === first.nextTriggerAt && (first.status === undefined || d.status === first.status)).map((d) => d._id);
}

/** The update of one advance; empty operators are left out (some servers reject them). */
function advanceUpdate(a: JobAdvance): UpdateFilter<JobDocument> {
  const set: Record<string, unknown> = {};
  if (a.nextTriggerAt !== undefined) set.nextTriggerAt = a.nextTriggerAt;
  if (a.lastTriggeredAt !== undefined) set["stats.lastTriggeredAt"] = a.lastTriggeredAt;
  if (a.status !== undefined) set.status = a.status;
  const inc: Record<string, number> = {};
  if (a.skipped) inc["stats.skippedCount"] = a.skipped;
  if (a.dropped) inc["stats.droppedCount"] = a.dropped;
  const update: Record<string, unknown> = {};
  if (Object.keys(set).length > 0) update.$set = set;
  if (Object.keys(inc).length > 0) update.$inc = inc;
  if (a.nextTriggerAt === undefined) update.$unset = { nextTriggerAt: "" };
  return update as UpdateFilter<JobDocument>;
}
