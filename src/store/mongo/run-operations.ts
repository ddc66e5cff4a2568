import type { Filter } from "mongodb";
import { CronError } from "../../domain/cron-error.js";
import { FINAL_RUN_STATUSES, type RunRecord, type RunStatus } from "../../domain/run.js";
import type { Page, RunQuery, RunUpdate, Store } from "../store.js";
import { runsLockKey, type MongoCollections } from "./collections.js";
import { mapConcurrently } from "./concurrency.js";
import { fetchLimit, pageOf } from "./paging.js";
import { fromRunDocument, toRunDocument, type RunDocument } from "./run-documents.js";
import { insertRuns } from "./run-inserts.js";

/** The run methods of the store. */
export type RunOperations = Pick<
  Store,
  "insertRuns" | "getRun" | "updateRun" | "updateRuns" | "listRuns" | "listDeadLetters" | "countRuns" | "cancelQueuedRuns" | "trimRuns"
>;

/** Builds the run methods on the given collections. */
export function runOperations(c: MongoCollections): RunOperations {
  return {
    insertRuns: (runs) => insertRuns(c, runs),
    getRun: async (runId) => {
      const doc = await c.runs.findOne({ _id: runId });
      return doc ? fromRunDocument(doc) : undefined;
    },
    updateRun: (run, expected) => updateRun(c, run, expected),
    updateRuns: (updates) => mapConcurrently(updates, BATCH_CONCURRENCY, (u) => tryUpdateRun(c, u)),
    listRuns: (query) => listRuns(c, query),
    listDeadLetters: (query) => listRuns(c, { ...query, status: "dead_lettered" }),
    countRuns: (status) => c.runs.countDocuments({ status }),
    cancelQueuedRuns: (jobId, now) => cancelQueuedRuns(c, jobId, now),
    trimRuns: (jobId, keep) => trimRuns(c, jobId, keep),
  };
}

/** Writes of one batch in flight at once; see ADVANCE_CONCURRENCY for why 64. */
const BATCH_CONCURRENCY = 64;

/** One update of a batch: a conflict or a missing run is a false, not an error. */
async function tryUpdateRun(c: MongoCollections, u: RunUpdate): Promise<boolean> {
  try {
    await updateRun(c, u.run, u.expectedRevision);
    return true;
  } catch (err) {
    if (err instanceof CronError && (err.code === "version_conflict" || err.code === "not_found")) return false;
    throw err;
  }
}

/** Compare-and-set replace on the revision, serialised in-process with other writes to the job's runs. */
async function updateRun(c: MongoCollections, run: RunRecord, expected: number): Promise<RunRecord> {
  if (run.revision !== expected + 1) {
    throw CronError.invalid("run.revision", `must be ${expected + 1} when updating from revision ${expected}`);
  }
  const { _id, ...replacement } = toRunDocument(run);
  const replace = () => c.runs.replaceOne({ _id, revision: expected }, replacement);
  const result = await c.lock(runsLockKey(run.jobId), replace);
  if (result.matchedCount === 1) return run;
  const current = await c.runs.findOne({ _id }, { projection: { revision: 1 } });
  if (!current) throw CronError.notFound("run", run.runId);
  throw new CronError("version_conflict", `run ${JSON.stringify(run.runId)} is at revision ${current.revision}, not ${expected}`);
}

/** The query of a run listing; `before` is an exclusive upper bound on the run id. */
function runQuery(query: RunQuery): Filter<RunDocument> {
  const where: Filter<RunDocument> = {};
  if (query.jobId) where.jobId = query.jobId;
  if (query.projectId) where.projectId = query.projectId;
  if (query.status) where.status = query.status;
  if (query.before) where._id = { $lt: query.before };
  return where;
}

/** Runs newest first (run ids sort by creation time). */
async function listRuns(c: MongoCollections, query: RunQuery): Promise<Page<RunRecord>> {
  const docs = await c.runs.find(runQuery(query)).sort({ _id: -1 }).limit(fetchLimit(query.pageSize)).toArray();
  return pageOf(docs.map(fromRunDocument), query.pageSize, (r) => r.runId);
}

/** One multi-document update, serialised in-process with the updates of the job's runs. */
async function cancelQueuedRuns(c: MongoCollections, jobId: string, now: number): Promise<number> {
  const cancelled: RunStatus = "cancelled";
  const update = { $set: { status: cancelled, finishedAt: now, updatedAt: now }, $inc: { revision: 1 } };
  const result = await c.lock(runsLockKey(jobId), () => c.runs.updateMany({ jobId, status: "queued" }, update));
  return result.modifiedCount;
}

/**
 * Deletes the job's oldest finished runs so that at most `keep` runs remain, counting runs of every
 * status; queued and running runs are never deleted, so more than `keep` may remain.
 */
async function trimRuns(c: MongoCollections, jobId: string, keep: number): Promise<number> {
  const excess = (await c.runs.countDocuments({ jobId })) - Math.max(0, keep);
  if (excess <= 0) return 0;
  const finished = { jobId, status: { $in: [...FINAL_RUN_STATUSES] } };
  const oldest = await c.runs.find(finished, { projection: { _id: 1 } }).sort({ _id: 1 }).limit(excess).toArray();
  if (oldest.length === 0) return 0;
  const result = await c.runs.deleteMany({ ...finished, _id: { $in: oldest.map((d) => d._id) } });
  return result.deletedCount;
}
