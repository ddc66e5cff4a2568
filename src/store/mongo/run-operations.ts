import type { Collection, Filter } from "mongodb";
import { inDeadLetterQueue, isFinal, type RunRecord, type RunStatus } from "../../domain/run.js";
import type { ActiveRun, ActiveRunQuery, DeadLetterQuery, HistoryLimit, Page, RunQuery, Store } from "../store.js";
import { runLockKey, type MongoCollections } from "./collections.js";
import { fetchLimit, pageOf } from "./paging.js";
import { fromRunDocument, type ActiveDocument, type RunDocument } from "./run-documents.js";
import { insertRuns } from "./run-inserts.js";
import { currentStates, findRun, placeStates } from "./run-states.js";
import { updateRun, updateRuns } from "./run-updates.js";
import { countMatching } from "./counting.js";

/** The run methods of the store. */
export type RunOperations = Pick<
  Store,
  | "insertRuns"
  | "getRun"
  | "updateRun"
  | "updateRuns"
  | "listRuns"
  | "listDeadLetters"
  | "countRuns"
  | "countDeadLetters"
  | "markRedriven"
  | "expireDeadLetters"
  | "listActiveRuns"
  | "purgeRuns"
  | "busyJobs"
  | "cancelQueuedRuns"
  | "trimRuns"
  | "repairRuns"
>;

/** Builds the run methods on the given collections. */
export function runOperations(c: MongoCollections): RunOperations {
  return {
    insertRuns: (runs, options) => insertRuns(c, runs, options),
    getRun: (runId, scope) => findRun(c, runId, scope),
    updateRun: (run, expected) => updateRun(c, run, expected),
    updateRuns: (updates) => updateRuns(c, updates),
    listRuns: (query) => listRuns(c, query),
    listDeadLetters: (query) => listDeadLetters(c, query),
    countRuns: (status, scope) => {
      const where = scope === undefined ? { status } : { status, projectId: scope };
      return isFinal(status) ? countMatching(c.runFinals, where) : countMatching(c.runActive, where);
    },
    countDeadLetters: () => countMatching(c.runFinals, deadLetterFilter({})),
    markRedriven: (runId, redriveRunId, at) => markRedriven(c, runId, redriveRunId, at),
    expireDeadLetters: (before, limit) => expireDeadLetters(c, before, limit),
    listActiveRuns: (query) => listActiveRuns(c, query),
    purgeRuns: (jobId, createdBefore, limit) => purgeRuns(c, jobId, createdBefore, limit),
    busyJobs: (jobIds) => busyJobs(c, jobIds),
    cancelQueuedRuns: (jobId, now) => cancelQueuedRuns(c, jobId, now),
    trimRuns: (limits) => trimRuns(c, limits),
    repairRuns: (since) => repairRuns(c, since),
  };
}

/** Most runs not final read for one listing by state (they are few: runs leave `run_active` when they finish). */
const MAX_ACTIVE_LISTED = 10_000;

/**
 * The filters of a run listing on fields that never change after a run is created (so they hold
 * in `runs`, `run_progress` and `run_finals` alike), and its page bounds unless `bounds` is false.
 */
function createdFilter(query: Omit<RunQuery, "pageSize" | "status">, bounds = true): Filter<RunDocument> {
  const where: Filter<RunDocument> = {};
  if (query.jobId) where.jobId = query.jobId;
  if (query.projectId) where.projectId = query.projectId;
  if (query.trigger) where.trigger = query.trigger;
  if (query.scheduledFrom !== undefined || query.scheduledTo !== undefined) {
    where.scheduledAt = {
      ...(query.scheduledFrom !== undefined ? { $gte: query.scheduledFrom } : {}),
      ...(query.scheduledTo !== undefined ? { $lt: query.scheduledTo } : {}),
    };
  }
  if (bounds && (query.before || query.after)) {
    where._id = { ...(query.before ? { $lt: query.before } : {}), ...(query.after ? { $gt: query.after } : {}) };
  }
  return where;
}

/** One page of `collection` under `filter` in the query's order, and the total under `all` when asked. */
async function findPage(
  collection: Collection<RunDocument>,
  query: RunQuery,
  filter: Filter<RunDocument>,
  all: Filter<RunDocument>,
): Promise<{ docs: RunDocument[]; total?: number }> {
  const [docs, total] = await Promise.all([
    collection
      .find(filter)
      .sort({ _id: query.oldestFirst ? 1 : -1 })
      .skip(Math.max(0, Math.floor(query.offset ?? 0)))
      .limit(fetchLimit(query.pageSize))
      .toArray(),
    query.withTotal ? countMatching(collection, all) : undefined,
  ]);
  return { docs, total };
}

/** A page of runs, with the total when one was counted. */
function runPage(runs: RunRecord[], query: RunQuery, total: number | undefined): Page<RunRecord> {
  const page = pageOf(runs, query.pageSize, (r) => r.runId);
  return total === undefined ? page : { ...page, total };
}

/**
 * Runs in the query's order (run ids sort by creation time). A final status reads `run_finals`;
 * queued and running read the references of `run_active`, then the created runs among them that
 * match the other filters, then their current states; an unfiltered listing pages through created
 * runs and shows their current state.
 */
async function listRuns(c: MongoCollections, query: RunQuery): Promise<Page<RunRecord>> {
  if (query.status && isFinal(query.status)) {
    const status = { status: query.status };
    const { docs, total } = await findPage(c.runFinals, query, { ...createdFilter(query), ...status }, { ...createdFilter(query, false), ...status });
    return runPage(docs.map(fromRunDocument), query, total);
  }
  let where = (bounds: boolean) => createdFilter(query, bounds);
  if (query.status) {
    const active: Filter<ActiveDocument> = { status: query.status, ...(query.jobId ? { jobId: query.jobId } : {}) };
    const refs = await c.runActive
      .find(active, { projection: { _id: 1 } })
      .limit(MAX_ACTIVE_LISTED)
      .toArray();
    const ids: Filter<RunDocument> = { _id: { $in: refs.map((r) => r._id) } };
    // Both conditions on _id (the active ids and the page bounds) must hold.
    where = (bounds) => ({ $and: [createdFilter(query, bounds), ids] });
  }
  const { docs, total } = await findPage(c.runs, query, where(true), where(false));
  const { states } = await currentStates(c, docs);
  const runs = docs.map((d) => states.get(d._id)!).filter((r) => matches(r, query));
  return runPage(runs, query, total);
}

/**
 * The final documents of runs in the dead-letter queue. `status` leads so that MongoDB serves it
 * from the `status_id` index; a dead letter is always a failed run.
 */
function deadLetterFilter(query: Omit<DeadLetterQuery, "pageSize">, bounds = true): Filter<RunDocument> {
  const where: Filter<RunDocument> = { status: "failed", deadLetteredAt: { $exists: true }, ...createdFilter(query, bounds) };
  if (!query.includeRedriven) where.redrivenAt = { $exists: false };
  return where;
}

async function listDeadLetters(c: MongoCollections, query: DeadLetterQuery): Promise<Page<RunRecord>> {
  const { docs, total } = await findPage(c.runFinals, query, deadLetterFilter(query), deadLetterFilter(query, false));
  return runPage(docs.map(fromRunDocument), query, total);
}

/** Deletes the oldest finished runs of a job created before a time (created, final and any stale state documents). */
async function purgeRuns(c: MongoCollections, jobId: string, createdBefore: number, limit: number): Promise<number> {
  const finals = await c.runFinals
    .find({ jobId, createdAt: { $lt: createdBefore } }, { projection: { _id: 1 } })
    .sort({ _id: 1 })
    .limit(Math.max(0, Math.floor(limit)))
    .toArray();
  if (finals.length === 0) return 0;
  const ids = { _id: { $in: finals.map((d) => d._id) } };
  await Promise.all([c.runs.deleteMany(ids), c.runActive.deleteMany(ids), c.runProgress.deleteMany(ids)]);
  return (await c.runFinals.deleteMany(ids)).deletedCount;
}

/** Marks a dead letter redriven, once: the filter matches only a run still waiting in the queue. */
async function markRedriven(c: MongoCollections, runId: string, redriveRunId: string, at: number): Promise<boolean> {
  return c.lock(runLockKey(runId), async () => {
    const result = await c.runFinals.updateOne(
      { _id: runId, deadLetteredAt: { $exists: true }, redrivenAt: { $exists: false } },
      { $set: { redrivenAt: at, redrivenByRunId: redriveRunId } },
    );
    return result.modifiedCount === 1;
  });
}

/** Deletes the oldest dead letters that entered the queue before `before` (created and final documents). */
async function expireDeadLetters(c: MongoCollections, before: number, limit: number): Promise<number> {
  const expired = await c.runFinals
    .find({ ...deadLetterFilter({}), deadLetteredAt: { $lt: before } }, { projection: { _id: 1 } })
    .sort({ _id: 1 })
    .limit(Math.max(0, Math.floor(limit)))
    .toArray();
  if (expired.length === 0) return 0;
  const ids = { _id: { $in: expired.map((d) => d._id) } };
  await c.runs.deleteMany(ids);
  return (await c.runFinals.deleteMany(ids)).deletedCount;
}

/** Whether a run read by reference still matches a listing's filters (its state may have moved on). */
function matches(run: RunRecord, query: RunQuery): boolean {
  return !query.status || run.status === query.status;
}

async function listActiveRuns(c: MongoCollections, query: ActiveRunQuery): Promise<ActiveRun[]> {
  if (query.jobIds?.length === 0 || query.limit <= 0) return [];
  const where: Filter<ActiveDocument> = query.jobIds ? { jobId: query.jobIds.length === 1 ? query.jobIds[0]! : { $in: query.jobIds } } : {};
  const docs = await c.runActive.find(where).sort({ _id: 1 }).limit(Math.floor(query.limit)).toArray();
  return docs.map((d) => ({ runId: d._id, jobId: d.jobId, status: d.status }));
}

/** Ids read by one `$in` query. */
const IN_CHUNK = 1000;

/** The jobs among `jobIds` with a reference in `run_active` (served by its jobId index). */
async function busyJobs(c: MongoCollections, jobIds: string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (let i = 0; i < jobIds.length; i += IN_CHUNK) {
    const ids = jobIds.slice(i, i + IN_CHUNK);
    const found = await c.runActive.distinct("jobId", { jobId: ids.length === 1 ? ids[0]! : { $in: ids } });
    for (const jobId of found) out.add(jobId);
  }
  return out;
}

/** Finishes the job's queued runs as cancelled (a run finished meanwhile by a worker keeps its state). */
async function cancelQueuedRuns(c: MongoCollections, jobId: string, now: number): Promise<number> {
  const refs = await c.runActive.find({ jobId, status: "queued" satisfies RunStatus }).toArray();
  const runs = (await Promise.all(refs.map((r) => findRun(c, r._id)))).filter((r): r is RunRecord => r !== undefined && !isFinal(r.status));
  const cancelled = runs.map((r) => ({ ...r, status: "cancelled" as const, finishedAt: now, updatedAt: now, revision: r.revision + 1 }));
  const results = await updateRuns(
    c,
    cancelled.map((run) => ({ run, expectedRevision: run.revision - 1 })),
  );
  return results.filter(Boolean).length;
}

/**
 * One pass for many jobs: counts each job's runs, then deletes its oldest final runs until at most
 * `keep` remain (created and final documents alike). Runs not final are never deleted; runs
 * waiting in the dead-letter queue neither count nor are deleted.
 */
async function trimRuns(c: MongoCollections, limits: HistoryLimit[]): Promise<number> {
  const keep = new Map(limits.map((l) => [l.jobId, Math.max(0, l.keep)]));
  if (keep.size === 0) return 0;
  const byJobs = { jobId: { $in: [...keep.keys()] } };
  const [created, allFinals] = await Promise.all([
    c.runs.find(byJobs, { projection: { _id: 1, jobId: 1 } }).toArray(),
    c.runFinals
      .find(byJobs, { projection: { _id: 1, jobId: 1, deadLetteredAt: 1, redrivenAt: 1 } })
      .sort({ _id: 1 })
      .toArray(),
  ]);
  const queuedDead = new Set(allFinals.filter(inDeadLetterQueue).map((d) => d._id));
  const finals = allFinals.filter((d) => !queuedDead.has(d._id));
  const excess = new Map<string, number>();
  for (const d of created) {
    if (!queuedDead.has(d._id)) excess.set(d.jobId, (excess.get(d.jobId) ?? -keep.get(d.jobId)!) + 1);
  }
  const ids = finals
    .filter((d) => {
      const left = excess.get(d.jobId) ?? 0;
      excess.set(d.jobId, left - 1);
      return left > 0;
    })
    .map((d) => d._id);
  if (ids.length === 0) return 0;
  await c.runFinals.deleteMany({ _id: { $in: ids } });
  return (await c.runs.deleteMany({ _id: { $in: ids } })).deletedCount;
}

/** Writes the missing `run_active` references of runs created since `since`. */
async function repairRuns(c: MongoCollections, since: number): Promise<number> {
  const created = await c.runs.find({ createdAt: { $gte: since } }).toArray();
  const { unplaced } = await currentStates(c, created);
  await placeStates(c, unplaced);
  return unplaced.length;
}

/**
 * Runs stored as `dead_lettered` by earlier versions become `failed` runs in the dead-letter
 * queue (entered when they finished). Idempotent; one pass at start-up.
 */
export async function upgradeDeadLettered(c: MongoCollections): Promise<number> {
  const legacy = await c.runFinals.find({ status: "dead_lettered" satisfies RunStatus }).toArray();
  for (const doc of legacy) {
    const { status, deadLetteredAt } = fromRunDocument(doc);
    await c.runFinals.updateOne({ _id: doc._id }, { $set: { status, deadLetteredAt } });
  }
  return legacy.length;
}
