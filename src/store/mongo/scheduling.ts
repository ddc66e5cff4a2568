import type { Filter, UpdateFilter } from "mongodb";
import type { JobRecord } from "../../domain/job.js";
import type { JobAdvance, RunOutcome, Store } from "../store.js";
import { jobLockKey, type MongoCollections } from "./collections.js";
import { mapConcurrently } from "./concurrency.js";
import { fromJobDocument, type JobDocument } from "./job-documents.js";

/**
 * How many compare-and-set writes of one `advanceJobs` call are in flight at once: 64 keeps a
 * 10,000-job batch at ~160 rounds of parallel round trips while staying under the driver's
 * default pool of 100 connections, so other queries are not starved.
 */
const ADVANCE_CONCURRENCY = 64;

/** The scheduler bookkeeping methods of the store. */
export type SchedulingOperations = Pick<Store, "listDueJobs" | "advanceJobs" | "recordRunOutcomes">;

/** Builds the scheduler bookkeeping methods on the given collections. */
export function schedulingOperations(c: MongoCollections): SchedulingOperations {
  return {
    listDueJobs: (before, limit) => listDueJobs(c, before, limit),
    advanceJobs: (advances) => mapConcurrently(advances, ADVANCE_CONCURRENCY, (a) => advanceJob(c, a)),
    recordRunOutcomes: async (outcomes) => void (await mapConcurrently(outcomes, ADVANCE_CONCURRENCY, (o) => recordRunOutcome(c, o))),
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
 * One compare-and-set on `nextTriggerAt`. An expected `undefined` matches a job without the field
 * (`{nextTriggerAt: null}` matches absent or null). Each write is its own updateOne because a bulk
 * write reports only total counts, and per-job success must be exact under concurrent schedulers;
 * the writes of one call run concurrently, each serialised with other writes to its job.
 */
async function advanceJob(c: MongoCollections, advance: JobAdvance): Promise<boolean> {
  const expected = advance.expectedNextTriggerAt ?? null;
  const filter = { _id: advance.jobId, nextTriggerAt: expected } as Filter<JobDocument>;
  const result = await c.lock(jobLockKey(advance.jobId), () => c.jobs.updateOne(filter, advanceUpdate(advance)));
  return result.matchedCount === 1;
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

/** Counter increments, serialised per job: FerretDB would lose concurrent `$inc`s otherwise. */
async function recordRunOutcome(c: MongoCollections, outcome: RunOutcome): Promise<void> {
  const update = {
    $inc: { "stats.runCount": 1, "stats.failCount": outcome.failed ? 1 : 0 },
    $set: { "stats.lastRunDurationMs": outcome.durationMs },
  };
  await c.lock(jobLockKey(outcome.jobId), () => c.jobs.updateOne({ _id: outcome.jobId }, update));
}
