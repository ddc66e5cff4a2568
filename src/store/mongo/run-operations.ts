import type { Filter } from "mongodb";
import type { RunRecord, RunStatus } from "../../domain/run.js";
import type { ActiveRunQuery, HistoryLimit, Page, RunQuery, Store } from "../store.js";
import type { MongoCollections } from "./collections.js";
import { fetchLimit, pageOf } from "./paging.js";
import { fromRunDocument, type RunDocument } from "./run-documents.js";
import { insertRuns } from "./run-inserts.js";
import { currentStates, findRun, insertIgnoringDuplicates, placeStates, stateCollection } from "./run-states.js";
import { updateRun, updateRuns } from "./run-updates.js";

/** The run methods of the store. */
export type RunOperations = Pick<
  Store,
  | "insertRuns" | "getRun" | "updateRun" | "updateRuns" | "listRuns" | "listDeadLetters" | "countRuns"
  | "listActiveRuns" | "cancelQueuedRuns" | "trimRuns" | "repairRuns"
>;

/** Builds the run methods on the given collections. */
export function runOperations(c: MongoCollections): RunOperations {
  return {
    insertRuns: (runs) => insertRuns(c, runs),
    getRun: (runId) => findRun(c, runId),
    updateRun: (run, expected) => updateRun(c, run, expected),
    updateRuns: (updates) => updateRuns(c, updates),
    listRuns: (query) => listRuns(c, query),
    listDeadLetters: (query) => listRuns(c, { ...query, status: "dead_lettered" }),
    countRuns: (status) => stateCollection(c, { status }).countDocuments({ status }),
    listActiveRuns: (query) => listActiveRuns(c, query),
    cancelQueuedRuns: (jobId, now) => cancelQueuedRuns(c, jobId, now),
    trimRuns: (limits) => trimRuns(c, limits),
    repairRuns: (since) => repairRuns(c, since),
  };
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

/**
 * Runs newest first (run ids sort by creation time). A status filter reads the collection holding
 * that status; an unfiltered listing pages through created runs and shows their current state.
 */
async function listRuns(c: MongoCollections, query: RunQuery): Promise<Page<RunRecord>> {
  const sorted = (collection: MongoCollections["runs"]) =>
    collection.find(runQuery(query)).sort({ _id: -1 }).limit(fetchLimit(query.pageSize)).toArray();
  if (query.status) {
    const docs = await sorted(stateCollection(c, { status: query.status }));
    return pageOf(docs.map(fromRunDocument), query.pageSize, (r) => r.runId);
  }
  const created = await sorted(c.runs);
  const { states } = await currentStates(c, created);
  return pageOf(created.map((d) => states.get(d._id)!), query.pageSize, (r) => r.runId);
}

async function listActiveRuns(c: MongoCollections, query: ActiveRunQuery): Promise<RunRecord[]> {
  if (query.jobIds?.length === 0 || query.limit <= 0) return [];
  const where: Filter<RunDocument> = query.jobIds ? { jobId: { $in: query.jobIds } } : {};
  const docs = await c.runActive.find(where).sort({ _id: 1 }).limit(Math.floor(query.limit)).toArray();
  return docs.map(fromRunDocument);
}

/** Finishes the job's queued runs as cancelled (a run finished meanwhile by a worker keeps its state). */
async function cancelQueuedRuns(c: MongoCollections, jobId: string, now: number): Promise<number> {
  const queued = await c.runActive.find({ jobId, status: "queued" satisfies RunStatus }).toArray();
  const cancelled = queued.map((d) => ({ ...d, status: "cancelled" as const, finishedAt: now, updatedAt: now, revision: d.revision + 1 }));
  const refused = await insertIgnoringDuplicates(c.runFinals, cancelled);
  const done = cancelled.filter((_, i) => !refused.has(i)).map((d) => d._id);
  if (done.length > 0) await c.runActive.deleteMany({ _id: { $in: done } });
  return done.length;
}

/**
 * One pass for many jobs: counts each job's runs, then deletes its oldest final runs until at most
 * `keep` remain (created and final documents alike). Runs not final are never deleted.
 */
async function trimRuns(c: MongoCollections, limits: HistoryLimit[]): Promise<number> {
  const keep = new Map(limits.map((l) => [l.jobId, Math.max(0, l.keep)]));
  if (keep.size === 0) return 0;
  const byJobs = { jobId: { $in: [...keep.keys()] } };
  const idsOnly = { projection: { _id: 1, jobId: 1 } };
  const [created, finals] = await Promise.all([
    c.runs.find(byJobs, idsOnly).toArray(),
    c.runFinals.find(byJobs, idsOnly).sort({ _id: 1 }).toArray(),
  ]);
  const excess = new Map<string, number>();
  for (const d of created) excess.set(d.jobId, (excess.get(d.jobId) ?? -keep.get(d.jobId)!) + 1);
  const ids = finals.filter((d) => {
    const left = excess.get(d.jobId) ?? 0;
    excess.set(d.jobId, left - 1);
    return left > 0;
  }).map((d) => d._id);
  if (ids.length === 0) return 0;
  await c.runFinals.deleteMany({ _id: { $in: ids } });
  return (await c.runs.deleteMany({ _id: { $in: ids } })).deletedCount;
}

/** Writes the missing state documents of runs created since `since`. */
async function repairRuns(c: MongoCollections, since: number): Promise<number> {
  const created = await c.runs.find({ createdAt: { $gte: since } }).toArray();
  const { unplaced } = await currentStates(c, created);
  return (await placeStates(c, unplaced)).size;
}
