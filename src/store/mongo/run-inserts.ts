import type { Filter } from "mongodb";
import { CronError } from "../../domain/cron-error.js";
import type { RunRecord } from "../../domain/run.js";
import type { InsertRunResult } from "../store.js";
import type { MongoCollections } from "./collections.js";
import { duplicateIndexesOf } from "./mongo-errors.js";
import { fromRunDocument, slotIdOf, toRunDocument, type RunDocument } from "./run-documents.js";

/**
 * Inserts runs idempotently on (jobId, slotKey), in one unordered batch. The unique index decides
 * every race, also between duplicates of the same batch: a run rejected as a duplicate adopts the
 * run that holds its slot, read back afterwards. Output order is input order.
 */
export async function insertRuns(c: MongoCollections, runs: RunRecord[]): Promise<InsertRunResult[]> {
  if (runs.length === 0) return [];
  const rejected = await insertSkippingDuplicates(c, runs);
  if (rejected.size === 0) return runs.map((run) => ({ run, inserted: true }));
  const holders = await findSlotHolders(c, runs.filter((_, i) => rejected.has(i)));
  return runs.map((run, i) => (rejected.has(i) ? adopt(run, holders) : { run, inserted: true }));
}

/** Inserts the batch; returns the input indexes refused by a unique index. */
async function insertSkippingDuplicates(c: MongoCollections, runs: RunRecord[]): Promise<Set<number>> {
  try {
    await c.runs.insertMany(runs.map(toRunDocument), { ordered: false });
    return new Set();
  } catch (err) {
    return duplicateIndexesOf(err);
  }
}

/** The stored runs holding the slots of `runs`, keyed by {@link slotIdOf}. */
async function findSlotHolders(c: MongoCollections, runs: RunRecord[]): Promise<Map<string, RunRecord>> {
  const slotsByJob = new Map<string, Set<string>>();
  for (const run of runs) {
    const slots = slotsByJob.get(run.jobId) ?? new Set<string>();
    slotsByJob.set(run.jobId, slots.add(run.slotKey));
  }
  const clauses: Filter<RunDocument>[] = [...slotsByJob].map(([jobId, slots]) => ({ jobId, slotKey: { $in: [...slots] } }));
  const docs = await c.runs.find(clauses.length === 1 ? clauses[0]! : { $or: clauses }).toArray();
  return new Map(docs.map((doc) => [slotIdOf(doc), fromRunDocument(doc)]));
}

/**
 * The result for a refused run: the slot's holder. No holder means the run id itself was taken
 * by a run of another slot (or the holder vanished meanwhile): the caller's id is not usable.
 */
function adopt(run: RunRecord, holders: Map<string, RunRecord>): InsertRunResult {
  const holder = holders.get(slotIdOf(run));
  if (!holder) throw new CronError("already_exists", `run id ${JSON.stringify(run.runId)} is already used by another slot`);
  return { run: holder, inserted: false };
}
