import { CronError } from "../../domain/cron-error.js";
import { isFinal, type RunRecord } from "../../domain/run.js";
import type { RunUpdate } from "../store.js";
import { runLockKey, type MongoCollections } from "./collections.js";
import { mapConcurrently } from "./concurrency.js";
import { toRunDocument } from "./run-documents.js";
import { findRun, insertIgnoringDuplicates } from "./run-states.js";

/** Writes of one batch in flight at once: enough to overlap round trips, under the driver's pool of 100. */
const BATCH_CONCURRENCY = 32;

/** One update of a run; see `Store.updateRun`. */
export async function updateRun(c: MongoCollections, run: RunRecord, expected: number): Promise<RunRecord> {
  checkRevision(run, expected);
  const [ok] = isFinal(run.status) ? await finishRuns(c, [run]) : [await storeProgress(c, run, expected)];
  if (ok) return run;
  throw await conflictOf(c, run.runId, expected);
}

/**
 * Many updates; per item whether it applied. Finishing runs (the bulk of every batch) is one
 * unordered insert into `run_finals` and one delete of their small references; intermediate
 * states are compare-and-sets on the small `run_progress` collection.
 */
export async function updateRuns(c: MongoCollections, updates: RunUpdate[]): Promise<boolean[]> {
  for (const u of updates) checkRevision(u.run, u.expectedRevision);
  const finals = updates.filter((u) => isFinal(u.run.status));
  const others = updates.filter((u) => !isFinal(u.run.status));
  const [finished, progressed] = await Promise.all([
    finishRuns(
      c,
      finals.map((u) => u.run),
    ),
    mapConcurrently(others, BATCH_CONCURRENCY, (u) => storeProgress(c, u.run, u.expectedRevision)),
  ]);
  const byUpdate = new Map<RunUpdate, boolean>();
  finals.forEach((u, i) => byUpdate.set(u, finished[i]!));
  others.forEach((u, i) => byUpdate.set(u, progressed[i]!));
  return updates.map((u) => byUpdate.get(u)!);
}

function checkRevision(run: RunRecord, expected: number): void {
  if (run.revision !== expected + 1) {
    throw CronError.invalid("run.revision", `must be ${expected + 1} when updating from revision ${expected}`);
  }
}

/**
 * Stores final states, first writer wins: one unordered insert into `run_finals`, whose unique
 * `_id` lets one final state of a run in, ever (across processes too). No read comes first. Every
 * run of the batch then leaves `run_active` and `run_progress`, the ones refused too: a refused
 * run is final already, and its references may be left from a writer that stopped between the
 * two steps (a database restart, a crash), to be read by every claim scan forever.
 */
async function finishRuns(c: MongoCollections, runs: RunRecord[]): Promise<boolean[]> {
  if (runs.length === 0) return [];
  const refused = await insertIgnoringDuplicates(c.runFinals, runs.map(toRunDocument));
  const ids = { _id: { $in: runs.map((r) => r.runId) } };
  await Promise.all([c.runActive.deleteMany(ids), c.runProgress.deleteMany(ids)]);
  return runs.map((_, i) => !refused.has(i));
}

/**
 * Compare-and-set of an intermediate state on `run_progress` (serialised in-process per run).
 * The first progress of a run is an insert, allowed when the run is still as created.
 */
async function storeProgress(c: MongoCollections, run: RunRecord, expected: number): Promise<boolean> {
  const { _id, ...replacement } = toRunDocument(run);
  return c.lock(runLockKey(run.runId), async () => {
    const result = await c.runProgress.replaceOne({ _id, revision: expected }, replacement);
    if (result.matchedCount === 0 && !(await firstProgress(c, run, expected))) return false;
    await c.runActive.updateOne({ _id }, { $set: { status: run.status } });
    return true;
  });
}

/** Inserts the first progress document of a run still at `expected` as created (and not final). */
async function firstProgress(c: MongoCollections, run: RunRecord, expected: number): Promise<boolean> {
  const current = await findRun(c, run.runId);
  if (!current || isFinal(current.status) || current.revision !== expected) return false;
  return (await insertIgnoringDuplicates(c.runProgress, [toRunDocument(run)])).size === 0;
}

/** Why an update of a run did not apply. */
async function conflictOf(c: MongoCollections, runId: string, expected: number): Promise<CronError> {
  const current = await findRun(c, runId);
  if (!current) return CronError.notFound("run", runId);
  return new CronError("version_conflict", `run ${JSON.stringify(runId)} is ${current.status} at revision ${current.revision}, not ${expected}`);
}
