import type { Clock } from "../domain/clock.js";
import type { RunRecord } from "../domain/run.js";
import type { RunUpdate, Store } from "../store/store.js";
import { createBatcher } from "../runtime/batcher.js";

/**
 * Thrown when a run changed under this node: someone else finished it (a cancel) or took it over
 * (another replica re-claimed it after this one's claim lapsed). The node stops writing the run.
 */
export class RunPreempted extends Error {
  constructor(readonly run: RunRecord) {
    super(`run ${run.runId} was taken over elsewhere`);
  }
}

/**
 * Most run states written in one store call; the rest go in the next event-loop turn. A slot's
 * final writes come together when its requests have left, hundreds of them, and one transaction
 * of them all holds the event loop for tens of milliseconds: in chunks, the responses still
 * arriving are read between them, and the requests waiting for those connections leave.
 */
export const RUN_WRITE_CHUNK = 128;

/** Stores a run state: a compare-and-set from `stored` (the last state this node wrote). */
export type RunWriter = (stored: RunRecord, next: RunRecord) => Promise<RunRecord>;

/**
 * Creates the run writer. Writes of many runs in the same event-loop turn (or, with `batchMs`,
 * within that many milliseconds) become one store call. Only the node executing a run writes it,
 * so a failed update never calls for a retry: it means the run is no longer this node's, and the
 * writer throws {@link RunPreempted}.
 */
export function createRunWriter(store: Store, clock: Clock, batchMs = 0): RunWriter {
  const update = createBatcher((updates: RunUpdate[]) => store.updateRuns(updates), { delayMs: batchMs, clock, maxBatch: RUN_WRITE_CHUNK });
  return async (stored, next) => {
    const record: RunRecord = { ...next, revision: stored.revision + 1, updatedAt: clock.now() };
    if (await update({ run: record, expectedRevision: stored.revision })) return record;
    throw new RunPreempted((await store.getRun(stored.runId)) ?? stored);
  };
}
