import type { Filter } from "mongodb";
import { isFinal, type RunRecord } from "../../domain/run.js";
import type { MongoCollections } from "./collections.js";
import { duplicateIndexesOf } from "./mongo-errors.js";
import { fromRunDocument, toRunDocument, type RunDocument } from "./run-documents.js";

/** The collection holding the current state of a run in this status. */
export function stateCollection(c: MongoCollections, run: Pick<RunRecord, "status">) {
  return isFinal(run.status) ? c.runFinals : c.runActive;
}

/** The current states of created runs, and those of them that have no state document. */
export interface CurrentStates {
  states: Map<string, RunRecord>;
  /** Runs whose creator crashed before writing their state document. */
  unplaced: RunRecord[];
}

/** Final, else active, else created: the current state of each run, keyed by run id. */
export async function currentStates(c: MongoCollections, created: RunDocument[]): Promise<CurrentStates> {
  const ids = created.map((d) => d._id);
  const states = new Map(created.map((d) => [d._id, fromRunDocument(d)]));
  if (ids.length === 0) return { states, unplaced: [] };
  const byId: Filter<RunDocument> = ids.length === 1 ? { _id: ids[0]! } : { _id: { $in: ids } };
  const [active, finals] = await Promise.all([c.runActive.find(byId).toArray(), c.runFinals.find(byId).toArray()]);
  const placed = new Set<string>();
  for (const doc of [...active, ...finals]) {
    states.set(doc._id, fromRunDocument(doc));
    placed.add(doc._id);
  }
  return { states, unplaced: ids.filter((id) => !placed.has(id)).map((id) => states.get(id)!) };
}

/** The current state of one run, or undefined. */
export async function findRun(c: MongoCollections, runId: string): Promise<RunRecord | undefined> {
  const [final, active, created] = await Promise.all([
    c.runFinals.findOne({ _id: runId }),
    c.runActive.findOne({ _id: runId }),
    c.runs.findOne({ _id: runId }),
  ]);
  const doc = final ?? active ?? created;
  return doc ? fromRunDocument(doc) : undefined;
}

/**
 * Stores the state documents of runs (active or final by their status). Idempotent: a state that
 * is already there is kept (its duplicate key ignored). Returns the ids that were newly written.
 */
export async function placeStates(c: MongoCollections, runs: RunRecord[]): Promise<Set<string>> {
  const written = new Set<string>();
  const groups = [runs.filter((r) => !isFinal(r.status)), runs.filter((r) => isFinal(r.status))];
  await Promise.all(
    groups.map(async (group) => {
      if (group.length === 0) return;
      const refused = await insertIgnoringDuplicates(stateCollection(c, group[0]!), group.map(toRunDocument));
      group.forEach((r, i) => refused.has(i) || written.add(r.runId));
    }),
  );
  return written;
}

/** Unordered insert of many documents; returns the input indexes refused as duplicates. */
export async function insertIgnoringDuplicates(collection: MongoCollections["runs"], docs: RunDocument[]): Promise<Set<number>> {
  if (docs.length === 0) return new Set();
  try {
    await collection.insertMany(docs, { ordered: false });
    return new Set();
  } catch (err) {
    return duplicateIndexesOf(err);
  }
}
