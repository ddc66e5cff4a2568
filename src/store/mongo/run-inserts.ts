import type { Filter } from "mongodb";
import { CronError } from "../../domain/cron-error.js";
import type { RunRecord } from "../../domain/run.js";
import type { InsertOptions, InsertRunResult } from "../store.js";
import type { MongoCollections } from "./collections.js";
import { slotIdOf, toRunDocument, type RunDocument } from "./run-documents.js";
import { currentStates, insertIgnoringDuplicates, placeStates } from "./run-states.js";

/**
 * Inserts runs idempotently on (jobId, slotKey), in batches. First every run goes into `runs`, in
 * one unordered insert whose unique index decides every race (also between duplicates of one
 * batch); then the winners' state documents are written. A crash between the two leaves runs
 * that `repairRuns` completes. A run refused as a duplicate adopts the run holding its slot (its
 * state documents are completed too, in case its creator crashed). Output order is input order.
 */
export async function insertRuns(c: MongoCollections, runs: RunRecord[], options: InsertOptions = {}): Promise<InsertRunResult[]> {
  if (runs.length === 0) return [];
  const rejected = await insertIgnoringDuplicates(c.runs, runs.map(toRunDocument));
  await placeStates(
    c,
    runs.filter((_, i) => !rejected.has(i)),
  );
  if (rejected.size === 0 || options.adopt === false) return runs.map((run, i) => ({ run, inserted: !rejected.has(i) }));
  const holders = await findSlotHolders(
    c,
    runs.filter((_, i) => rejected.has(i)),
  );
  return runs.map((run, i) => (rejected.has(i) ? adopt(run, holders) : { run, inserted: true }));
}

/** The current state of the runs holding the slots of `runs`, keyed by {@link slotIdOf}. */
async function findSlotHolders(c: MongoCollections, runs: RunRecord[]): Promise<Map<string, RunRecord>> {
  const slotsByJob = new Map<string, Set<string>>();
  for (const run of runs) {
    const slots = slotsByJob.get(run.jobId) ?? new Set<string>();
    slotsByJob.set(run.jobId, slots.add(run.slotKey));
  }
  const clauses: Filter<RunDocument>[] = [...slotsByJob].map(([jobId, slots]) => ({ jobId, slotKey: { $in: [...slots] } }));
  const created = await c.runs.find(clauses.length === 1 ? clauses[0]! : { $or: clauses }).toArray();
  const { states, unplaced } = await currentStates(c, created);
  // A holder without a state document lost it when its creator crashed: complete it.
  await placeStates(c, unplaced);
  return new Map([...states.values()].map((run) => [slotIdOf(run), run]));
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
