import type { Clock } from "../domain/clock.js";
import { CronError } from "../domain/cron-error.js";
import { isFinal, type RunRecord } from "../domain/run.js";
import type { Store } from "../store/store.js";
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
 * Creates the run writer. On a revision conflict the stored run is re-read: if it reached a final
 * state (a CancelRun won the race) the writer throws {@link RunPreempted}; otherwise the change is
 * applied again on top of the stored run.
 */
export function createRunWriter(store: Store, clock: Clock, events: RunEvents): RunWriter {
  const write = async (run: RunRecord, changes: Partial<RunRecord>, retries: number): Promise<RunRecord> => {
    const next: RunRecord = { ...run, ...changes, revision: run.revision + 1, updatedAt: clock.now() };
    try {
      await store.updateRun(next, run.revision);
    } catch (err) {
      if (!(err instanceof CronError) || err.code !== "version_conflict" || retries === 0) throw err;
      const stored = await store.getRun(run.runId);
      if (!stored) throw err;
      if (isFinal(stored.status)) throw new RunPreempted(stored);
      return write(stored, changes, retries - 1);
    }
    events.publish(next);
    return next;
  };
  // Three tries cover a cancel racing with a claim; more conflicts than that mean a bug, not a race.
  return (run, changes) => write(run, changes, 3);
}
