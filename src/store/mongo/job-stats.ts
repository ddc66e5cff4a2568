import { createHash, randomBytes } from "node:crypto";
import type { JobStats } from "../../domain/job.js";
import type { RunStatus } from "../../domain/run.js";
import type { RunOutcome } from "../store.js";
import type { MongoCollections } from "./collections.js";
import { isDuplicateKey } from "./mongo-errors.js";

/** One job's run counters inside a stats document. */
export interface StatsEntry {
  jobId: string;
  runs: number;
  fails: number;
  lastDurationMs: number;
  /** Final state of the last counted run (absent in entries written by older versions). */
  lastStatus?: RunStatus;
  /** When the last counted run finished (orders `lastDurationMs` and `lastStatus` across documents). */
  lastAt: number;
  /** Runs shed without executing (added to the job's skipped counter); absent in older documents. */
  skips?: number;
}

/**
 * A shard of the run counters of one store instance (an "incarnation": one process lifetime), or
 * the folded counters of instances that are gone (`incarnation: "folded"`).
 */
export interface JobStatsDocument {
  _id: string;
  incarnation: string;
  shard: number;
  updatedAt: number;
  entries: StatsEntry[];
  /** Folded documents only: compare-and-set sequence and the instance documents already merged. */
  seq?: number;
  mergedFrom?: string[];
}

/** What the book adds to a job's counters. */
export type RunCounters = Pick<JobStats, "runCount" | "failCount" | "skippedCount" | "lastRunDurationMs" | "lastRunStatus">;

/** The run counters of jobs: what `recordRunOutcomes` writes and job reads add in. */
export interface JobStatsBook {
  record(outcomes: RunOutcome[]): Promise<void>;
  /** Counters of the given jobs (absent for jobs without finished runs). */
  read(jobIds: string[]): Promise<Map<string, RunCounters>>;
  /** Merges the documents of instances silent for `staleMs` into the folded documents. */
  fold(staleMs: number): Promise<number>;
}

/**
 * Counters are spread over this many documents per instance, so a document stays small (about
 * 60 bytes per job) and a flush rewrites only the shards its jobs fall in.
 */
const SHARDS = 8;
/** How many merged instance ids a folded document remembers (enough to make a re-fold harmless). */
const MERGED_MEMORY = 200;
const FOLDED = "folded";

/** The shard of a job id (stable across processes). */
export function shardOf(jobId: string): number {
  return createHash("sha1").update(jobId).digest().readUInt32BE(0) % SHARDS;
}

/**
 * Creates the counters book of one store instance. Why not `$inc` on the job: every finished run
 * would be one update of a job document, which FerretDB (whose updates scan their collection)
 * cannot sustain at hundreds of runs per second. Instead each instance keeps its own totals in
 * memory and replaces its own shard documents: no document has two writers, no compare-and-set is
 * needed, and a flush costs one write per touched shard. Reads sum the shard's documents. A crash
 * loses at most the increments not yet flushed (the runs themselves are stored before). Instances
 * that are gone are folded into one document per shard; a folded document records which instance
 * documents it merged, so a fold interrupted before deleting them never counts twice.
 */
export function createJobStatsBook(c: MongoCollections, nodeId: string, now: () => number): JobStatsBook {
  const incarnation = `${nodeId}@${now()}-${randomBytes(3).toString("hex")}`;
  const totals = new Map<string, StatsEntry>();
  const write = async (shard: number) => {
    const entries = [...totals.values()].filter((e) => shardOf(e.jobId) === shard);
    const doc: JobStatsDocument = { _id: `${incarnation}/${shard}`, incarnation, shard, updatedAt: now(), entries };
    await c.lock(`stats:${shard}`, () => c.jobStats.replaceOne({ _id: doc._id }, doc, { upsert: true }));
  };
  return {
    async record(outcomes) {
      const shards = new Set<number>();
      for (const o of outcomes) {
        addOutcome(totals, o, now());
        shards.add(shardOf(o.jobId));
      }
      await Promise.all([...shards].map(write));
    },
    read: (jobIds) => readStats(c, jobIds),
    fold: (staleMs) => foldStale(c, now() - staleMs, incarnation),
  };
}

function addOutcome(totals: Map<string, StatsEntry>, o: RunOutcome, at: number): void {
  const entry = totals.get(o.jobId) ?? { jobId: o.jobId, runs: 0, fails: 0, lastDurationMs: 0, lastAt: 0 };
  totals.set(o.jobId, entry);
  if (o.skipped) {
    entry.skips = (entry.skips ?? 0) + 1;
    return;
  }
  entry.runs += 1;
  entry.fails += o.failed ? 1 : 0;
  entry.lastDurationMs = o.durationMs;
  if (o.status) entry.lastStatus = o.status;
  entry.lastAt = at;
}

/** Sums the counters of the jobs over their shards' live documents (merged ones skipped). */
async function readStats(c: MongoCollections, jobIds: string[]) {
  const out = new Map<string, RunCounters>();
  if (jobIds.length === 0) return out;
  const wanted = new Set(jobIds);
  const docs = await c.jobStats.find({ shard: { $in: [...new Set(jobIds.map(shardOf))] } }).toArray();
  const merged = new Set(docs.flatMap((d) => d.mergedFrom ?? []));
  const lastAt = new Map<string, number>();
  for (const doc of docs) {
    if (merged.has(doc._id)) continue;
    for (const e of doc.entries) {
      if (!wanted.has(e.jobId)) continue;
      const sum = out.get(e.jobId) ?? { runCount: 0, failCount: 0, skippedCount: 0 };
      sum.runCount += e.runs;
      sum.failCount += e.fails;
      sum.skippedCount += e.skips ?? 0;
      // An entry of shed runs only has no duration to tell.
      if (e.runs > 0 && e.lastAt >= (lastAt.get(e.jobId) ?? -1)) {
        sum.lastRunDurationMs = e.lastDurationMs;
        if (e.lastStatus) sum.lastRunStatus = e.lastStatus;
        lastAt.set(e.jobId, e.lastAt);
      }
      out.set(e.jobId, sum);
    }
  }
  return out;
}

/** Folds every instance document last written before `before` (never this instance's own). */
async function foldStale(c: MongoCollections, before: number, own: string): Promise<number> {
  const stale = await c.jobStats.find({ incarnation: { $ne: FOLDED }, updatedAt: { $lt: before } }).toArray();
  let folded = 0;
  for (const doc of stale) {
    if (doc.incarnation === own) continue;
    if (await foldOne(c, doc)) folded++;
  }
  return folded;
}

/**
 * Merges one instance document into its shard's folded document (compare-and-set on `seq`,
 * recording the merge), then deletes it. Returns false when another folder got there first.
 */
async function foldOne(c: MongoCollections, doc: JobStatsDocument): Promise<boolean> {
  const id = `${FOLDED}/${doc.shard}`;
  const current = await c.jobStats.findOne({ _id: id });
  const mergedFrom = current?.mergedFrom ?? [];
  if (!mergedFrom.includes(doc._id)) {
    const seq = current?.seq ?? 0;
    const next: JobStatsDocument = {
      _id: id,
      incarnation: FOLDED,
      shard: doc.shard,
      updatedAt: doc.updatedAt,
      seq: seq + 1,
      entries: mergeEntries(current?.entries ?? [], doc.entries),
      mergedFrom: [...mergedFrom, doc._id].slice(-MERGED_MEMORY),
    };
    if (!(await casFolded(c, next, current === null ? undefined : seq))) return false;
  }
  await c.jobStats.deleteOne({ _id: doc._id });
  return true;
}

/** Replaces the folded document if it is still at `seq` (inserts it when `seq` is undefined). */
async function casFolded(c: MongoCollections, next: JobStatsDocument, seq: number | undefined): Promise<boolean> {
  if (seq === undefined) {
    try {
      await c.jobStats.insertOne(next);
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }
  const result = await c.jobStats.replaceOne({ _id: next._id, seq }, next);
  return result.matchedCount === 1;
}

function mergeEntries(into: StatsEntry[], add: StatsEntry[]): StatsEntry[] {
  const byJob = new Map(into.map((e) => [e.jobId, { ...e }]));
  for (const e of add) {
    const cur = byJob.get(e.jobId);
    if (!cur) {
      byJob.set(e.jobId, { ...e });
      continue;
    }
    cur.runs += e.runs;
    cur.fails += e.fails;
    if (e.skips) cur.skips = (cur.skips ?? 0) + e.skips;
    if (e.lastAt >= cur.lastAt) Object.assign(cur, { lastDurationMs: e.lastDurationMs, lastAt: e.lastAt }, e.lastStatus ? { lastStatus: e.lastStatus } : {});
  }
  return [...byJob.values()];
}
