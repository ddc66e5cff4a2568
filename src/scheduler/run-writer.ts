import type { Clock } from "../domain/clock.js";
import { CronError } from "../domain/cron-error.js";
import { isFinal, type RunRecord } from "../domain/run.js";
import type { RunUpdate, Store } from "../store/store.js";
import { createBatcher } from "./batcher.js";
import type { RunEvents } from "./run-events.js";

/** Thrown when someone else finished the run (a cancel) while this node was writing it. */
export class RunPreempted extends Error {
  constructor(readonly run: RunRecord) {
    super(`run ${run.runId} was ${run.status} elsewhere`);
  }
}

/** Saves a change to a run: compare-and-set on its revision, then publishes it to watchers. */
export type RunWriter = (run: RunRecord, changes: Partial<RunRecord>) => Promise<RunRecord>;

/**
 * Creates the run writer. Writes are batched per event-loop turn. On a revision conflict the stored run is re-read: if it reached a final
 * state (a CancelRun won the race) the writer throws {@link RunPreempted}; otherwise the change is
 * applied again on top of the stored run.
 */
export function createRunWriter(store: Store, clock: Clock, events: RunEvents): RunWriter {
  // Writes from many runs in the same tick become one store call.
  const update = createBatcher((updates: RunUpdate[]) => store.updateRuns(updates));
  const write = async (run: RunRecord, changes: Partial<RunRecord>, retries: number): Promise<RunRecord> => {
    const next: RunRecord = { ...run, ...changes, revision: run.revision + 1, updatedAt: clock.now() };
    if (!(await update({ run: next, expectedRevision: run.revision }))) {
      const stored = await store.getRun(run.runId);
      if (!stored) throw CronError.notFound("run", run.runId);
      if (isFinal(stored.status)) throw new RunPreempted(stored);
      if (retries === 0) throw new CronError("version_conflict", `run ${run.runId} keeps changing under this node`);
      return write(stored, changes, retries - 1);
    }
    events.publish(next);
    return next;
  };
  // Three tries cover a cancel racing with a claim; more conflicts than that mean a bug, not a race.
  return (run, changes) => write(run, changes, 3);
}
