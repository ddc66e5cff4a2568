import type { Clock, TimerHandle } from "../domain/clock.js";
import { CronError } from "../domain/cron-error.js";
import type { RunRecord } from "../domain/run.js";
import type { RunEvents } from "./run-events.js";
import { RunPreempted, type RunWriter } from "./run-writer.js";

/** How progress of a run reaches the store. */
export interface ProgressOptions {
  /**
   * Intermediate states (running, attempts so far) are written only once a run has been going
   * this long, and then at most this often: most runs finish within milliseconds, and their
   * final state is the one write they need. Watchers see every change at once regardless.
   */
  checkpointMs: number;
  /** Delay between tries of a final write that failed because the store was unreachable. */
  finalRetryMs: number;
  /**
   * Run writes of this node within this window share one store call (0: the same event-loop
   * turn). A wider window turns the final writes of a busy second into a handful of calls.
   */
  writeBatchMs: number;
}

/** Defaults: checkpoint after 500 ms (a slow request shows as running within half a second); retry every second. */
export const PROGRESS_DEFAULTS: ProgressOptions = { checkpointMs: 500, finalRetryMs: 1000, writeBatchMs: 0 };

/** The live state of one executing run. */
export interface RunProgress {
  current(): RunRecord;
  /** Applies a change: published to watchers now, written at the next checkpoint. */
  change(changes: Partial<RunRecord>): void;
  /** The run's work is done and its final state follows shortly: no more checkpoints. */
  finishing(): void;
  /**
   * Writes a state now and stops checkpointing (a final state, or queued again at shutdown).
   * A failing store is retried until `giveUp` says to stop; throws {@link RunPreempted} when the
   * run is no longer this node's.
   */
  settle(changes: Partial<RunRecord>, giveUp: () => boolean): Promise<RunRecord>;
}

/** Tracks one run from its queued state on; every write goes through `write`. */
export function createRunProgress(run: RunRecord, write: RunWriter, clock: Clock, events: RunEvents, options: ProgressOptions): RunProgress {
  let stored = run;
  let current = run;
  let timer: TimerHandle | undefined;
  let writing: Promise<void> = Promise.resolve();
  let preempted: RunPreempted | undefined;

  const persist = () => {
    writing = writing.then(async () => {
      if (preempted || current === stored) return;
      try {
        stored = await write(stored, current);
      } catch (err) {
        // A checkpoint that fails is only a lost intermediate state; a lost claim stops the run.
        if (err instanceof RunPreempted) preempted = err;
      }
    });
  };
  const schedule = () => {
    timer ??= clock.setTimer(options.checkpointMs, () => {
      timer = undefined;
      persist();
      if (current !== stored) schedule();
    });
  };
  return {
    current: () => current,
    change(changes) {
      current = { ...current, ...changes, updatedAt: clock.now() };
      events.publish(current);
      schedule();
    },
    finishing() {
      timer?.cancel();
      timer = undefined;
    },
    async settle(changes, giveUp) {
      timer?.cancel();
      current = { ...current, ...changes, updatedAt: clock.now() };
      await writing;
      if (preempted) throw preempted;
      stored = await writeUntilStored(write, stored, current, clock, options.finalRetryMs, giveUp);
      events.publish(stored);
      return stored;
    },
  };
}

/** A final state is too important to drop on a store hiccup: anything but a lost run or a bug is retried. */
function retriable(err: unknown): boolean {
  if (err instanceof RunPreempted) return false;
  return !(err instanceof CronError) || (err.code !== "invalid_argument" && err.code !== "not_found");
}

async function writeUntilStored(
  write: RunWriter, stored: RunRecord, next: RunRecord, clock: Clock, retryMs: number, giveUp: () => boolean,
): Promise<RunRecord> {
  for (;;) {
    try {
      return await write(stored, next);
    } catch (err) {
      if (!retriable(err) || giveUp()) throw err;
      await new Promise<void>((resolve) => clock.setTimer(retryMs, resolve));
    }
  }
}
