import type { Clock, TimerHandle } from "../domain/clock.js";
import { CronError } from "../domain/cron-error.js";
import type { RunRecord } from "../domain/run.js";
import type { RunEvents } from "./run-events.js";
import { RunPreempted, type RunWriter } from "./run-writer.js";
import { createDelayQueue, type DelayQueue } from "../runtime/delay-queue.js";

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

/** What every run's progress shares on one node. */
export interface ProgressContext {
  write: RunWriter;
  clock: Clock;
  events: RunEvents;
  options: ProgressOptions;
  /** The checkpoint timers of every run, on one line (see {@link createProgressContext}). */
  checkpoints: DelayQueue;
}

/** The shared part of progress tracking: checkpoints of all runs wait on one timer line. */
export function createProgressContext(write: RunWriter, clock: Clock, events: RunEvents, options: ProgressOptions): ProgressContext {
  return { write, clock, events, options, checkpoints: createDelayQueue(clock, options.checkpointMs) };
}

/** Tracks one run from its queued state on; every write goes through the context's writer. */
export function createRunProgress(run: RunRecord, context: ProgressContext): RunProgress {
  return new Progress(run, context);
}

/**
 * One object per run (no closures): a busy second tracks thousands at once. While nobody watches
 * runs, changes are folded into the run state only when it is read (a checkpoint, the final
 * write), not copied into a new record at every step.
 */
class Progress implements RunProgress {
  private stored: RunRecord;
  private latest: RunRecord;
  /** Changes not folded into {@link Progress.latest} yet. */
  private pending: Partial<RunRecord> | undefined;
  private timer: TimerHandle | undefined;
  private writing: Promise<void> = Promise.resolve();
  private preempted: RunPreempted | undefined;

  constructor(
    run: RunRecord,
    private readonly context: ProgressContext,
  ) {
    this.stored = run;
    this.latest = run;
  }

  current(): RunRecord {
    if (this.pending) {
      this.latest = { ...this.latest, ...this.pending, updatedAt: this.context.clock.now() };
      this.pending = undefined;
    }
    return this.latest;
  }

  change(changes: Partial<RunRecord>): void {
    const { events } = this.context;
    if (events.watched()) {
      this.latest = { ...this.current(), ...changes, updatedAt: this.context.clock.now() };
      events.publish(this.latest);
    } else if (this.pending) {
      Object.assign(this.pending, changes);
    } else {
      this.pending = { ...changes };
    }
    this.timer ??= this.context.checkpoints.add(() => this.checkpoint());
  }

  finishing(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  async settle(changes: Partial<RunRecord>, giveUp: () => boolean): Promise<RunRecord> {
    const { clock, write, options, events } = this.context;
    this.finishing();
    this.latest = { ...this.latest, ...this.pending, ...changes, updatedAt: clock.now() };
    this.pending = undefined;
    await this.writing;
    if (this.preempted) throw this.preempted;
    this.stored = await writeUntilStored(write, this.stored, this.latest, clock, options.finalRetryMs, giveUp);
    events.publish(this.stored);
    return this.stored;
  }

  /** Writes the state reached so far, then waits for the next checkpoint if it changes again. */
  private checkpoint(): void {
    this.timer = undefined;
    this.writing = this.writing.then(() => this.persist());
    if (this.current() !== this.stored) this.timer = this.context.checkpoints.add(() => this.checkpoint());
  }

  private async persist(): Promise<void> {
    const latest = this.current();
    if (this.preempted || latest === this.stored) return;
    try {
      this.stored = await this.context.write(this.stored, latest);
    } catch (err) {
      // A checkpoint that fails is only a lost intermediate state; a lost claim stops the run.
      if (err instanceof RunPreempted) this.preempted = err;
    }
  }
}

/** A final state is too important to drop on a store hiccup: anything but a lost run or a bug is retried. */
function retriable(err: unknown): boolean {
  if (err instanceof RunPreempted) return false;
  return !(err instanceof CronError) || (err.code !== "invalid_argument" && err.code !== "not_found");
}

async function writeUntilStored(
  write: RunWriter,
  stored: RunRecord,
  next: RunRecord,
  clock: Clock,
  retryMs: number,
  giveUp: () => boolean,
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
