import { CronError } from "../../domain/cron-error.js";
import { isFinal, type RunRecord } from "../../domain/run.js";
import type { RunUpdate } from "../store.js";
import { runLockKey, type MongoCollections } from "./collections.js";
import { mapConcurrently } from "./concurrency.js";
import { toRunDocument } from "./run-documents.js";
import { findRun, insertIgnoringDuplicates } from "./run-states.js";

/** Writes of one batch in flight at once: enough to overlap round trips, under the driver's pool of 100. */
const BATCH_CONCURRENCY = 32;

/** One compare-and-set of a run; see `Store.updateRun`. */
export async function updateRun(c: MongoCollections, run: RunRecord, expected: number): Promise<RunRecord> {
  checkRevision(run, expected);
  const [ok] = isFinal(run.status) ? await finishRuns(c, [{ run, expectedRevision: expected }]) : [await advanceActive(c, run, expected)];
  if (ok) return run;
  throw await conflictOf(c, run.runId, expected);
}

/**
 * Many compare-and-sets; per item whether it applied. Finishing runs (the bulk of every batch) is
 * one read of the active documents plus one unordered insert into `run_finals`; intermediate
 * states are compare-and-sets on the small `run_active` collection.
 */
export async function updateRuns(c: MongoCollections, updates: RunUpdate[]): Promise<boolean[]> {
  for (const u of updates) checkRevision(u.run, u.expectedRevision);
  const finals = updates.filter((u) => isFinal(u.run.status));
  const others = updates.filter((u) => !isFinal(u.run.status));
  const [finished, advanced] = await Promise.all([
    finishRuns(c, finals),
    mapConcurrently(others, BATCH_CONCURRENCY, (u) => advanceActive(c, u.run, u.expectedRevision)),
  ]);
  const byUpdate = new Map<RunUpdate, boolean>();
  finals.forEach((u, i) => byUpdate.set(u, finished[i]!));
  others.forEach((u, i) => byUpdate.set(u, advanced[i]!));
  return updates.map((u) => byUpdate.get(u)!);
}

function checkRevision(run: RunRecord, expected: number): void {
  if (run.revision !== expected + 1) {
    throw CronError.invalid("run.revision", `must be ${expected + 1} when updating from revision ${expected}`);
  }
}

/**
 * Stores final states. A run qualifies when its current (active or, after a crash, created)
 * revision is the expected one; the insert into `run_finals` then decides races across processes:
 * its unique `_id` lets one final state in, ever. Finished runs leave `run_active`.
 */
async function finishRuns(c: MongoCollections, updates: RunUpdate[]): Promise<boolean[]> {
  if (updates.length === 0) return [];
  const revisions = await currentRevisions(c, updates.map((u) => u.run.runId));
  const eligible = updates.filter((u) => revisions.get(u.run.runId) === u.expectedRevision);
  const refused = await insertIgnoringDuplicates(c.runFinals, eligible.map((u) => toRunDocument(u.run)));
  const stored = new Set(eligible.filter((_, i) => !refused.has(i)).map((u) => u.run.runId));
  if (stored.size > 0) await c.runActive.deleteMany({ _id: { $in: [...stored] } });
  return updates.map((u) => stored.has(u.run.runId));
}

/** Revision of each run that is not final: from `run_active`, else from `runs` (a crashed creation). */
async function currentRevisions(c: MongoCollections, runIds: string[]): Promise<Map<string, number>> {
  const projection = { projection: { revision: 1, status: 1 } };
  const active = await c.runActive.find({ _id: { $in: runIds } }, projection).toArray();
  const out = new Map(active.map((d) => [d._id, d.revision]));
  const missing = runIds.filter((id) => !out.has(id));
  if (missing.length === 0) return out;
  const [created, finals] = await Promise.all([
    c.runs.find({ _id: { $in: missing } }, projection).toArray(),
    c.runFinals.find({ _id: { $in: missing } }, { projection: { _id: 1 } }).toArray(),
  ]);
  const finished = new Set(finals.map((d) => d._id));
  for (const d of created) if (!finished.has(d._id) && !isFinal(d.status)) out.set(d._id, d.revision);
  return out;
}

/** Compare-and-set of a non-final state on `run_active` (serialised in-process per run). */
async function advanceActive(c: MongoCollections, run: RunRecord, expected: number): Promise<boolean> {
  const { _id, ...replacement } = toRunDocument(run);
  const result = await c.lock(runLockKey(run.runId), () => c.runActive.replaceOne({ _id, revision: expected }, replacement));
  if (result.matchedCount === 1) return true;
  // A run whose creator crashed before writing its active document: write it now.
  if ((await currentRevisions(c, [run.runId])).get(run.runId) !== expected) return false;
  const refused = await insertIgnoringDuplicates(c.runActive, [toRunDocument(run)]);
  return refused.size === 0;
}

/** Why a compare-and-set of a run did not apply. */
async function conflictOf(c: MongoCollections, runId: string, expected: number): Promise<CronError> {
  const current = await findRun(c, runId);
  if (!current) return CronError.notFound("run", runId);
  return new CronError("version_conflict", `run ${JSON.stringify(runId)} is ${current.status} at revision ${current.revision}, not ${expected}`);
}
