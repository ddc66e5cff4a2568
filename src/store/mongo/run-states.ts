import type { Collection, Document, Filter } from "mongodb";
import { isFinal, type RunRecord } from "../../domain/run.js";
import type { Scope } from "../store.js";
import type { MongoCollections } from "./collections.js";
import { duplicateIndexesOf } from "./mongo-errors.js";
import { fromRunDocument, toActiveDocument, toRunDocument, type RunDocument } from "./run-documents.js";

/** The current states of created runs, and those of them that have no state document. */
export interface CurrentStates {
  states: Map<string, RunRecord>;
  /** Runs not final whose creator crashed before writing their `run_active` reference. */
  unplaced: RunRecord[];
}

/** An exact `_id` match for one id (FerretDB serves it without a scan), `$in` for several. */
function byIds<T extends { _id: string }>(ids: string[]): Filter<T> {
  return (ids.length === 1 ? { _id: ids[0]! } : { _id: { $in: ids } }) as Filter<T>;
}

/** Final, else progress, else created: the current state of each run, keyed by run id. */
export async function currentStates(c: MongoCollections, created: RunDocument[]): Promise<CurrentStates> {
  const ids = created.map((d) => d._id);
  const states = new Map(created.map((d) => [d._id, fromRunDocument(d)]));
  if (ids.length === 0) return { states, unplaced: [] };
  const [active, progress, finals] = await Promise.all([
    c.runActive.find(byIds(ids), { projection: { _id: 1 } }).toArray(),
    c.runProgress.find(byIds(ids)).toArray(),
    c.runFinals.find(byIds(ids)).toArray(),
  ]);
  for (const doc of [...progress, ...finals]) states.set(doc._id, fromRunDocument(doc));
  const placed = new Set([...active, ...finals].map((d) => d._id));
  return {
    states,
    unplaced: ids
      .filter((id) => !placed.has(id))
      .map((id) => states.get(id)!)
      .filter((r) => !isFinal(r.status)),
  };
}

/** The current state of one run (of `scope`'s project only, when given), or undefined: three exact-`_id` reads. */
export async function findRun(c: MongoCollections, runId: string, scope?: Scope): Promise<RunRecord | undefined> {
  const byId: Filter<RunDocument> = scope === undefined ? { _id: runId } : { _id: runId, projectId: scope };
  const [final, progress, created] = await Promise.all([c.runFinals.findOne(byId), c.runProgress.findOne(byId), c.runs.findOne(byId)]);
  const doc = final ?? progress ?? created;
  return doc ? fromRunDocument(doc) : undefined;
}

/**
 * Writes the state documents of newly created runs: a `run_active` reference for each run not
 * final, the final document of each run created final (skipped). Idempotent.
 */
export async function placeStates(c: MongoCollections, runs: RunRecord[]): Promise<void> {
  await Promise.all([
    insertIgnoringDuplicates(c.runActive, runs.filter((r) => !isFinal(r.status)).map(toActiveDocument)),
    insertIgnoringDuplicates(c.runFinals, runs.filter((r) => isFinal(r.status)).map(toRunDocument)),
  ]);
}

/** Unordered insert of many documents; returns the input indexes refused as duplicates. */
export async function insertIgnoringDuplicates<T extends Document>(collection: Collection<T>, docs: T[]): Promise<Set<number>> {
  if (docs.length === 0) return new Set();
  try {
    await collection.insertMany(docs as never[], { ordered: false });
    return new Set();
  } catch (err) {
    return duplicateIndexesOf(err);
  }
}
