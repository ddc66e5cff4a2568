import type { Clock, TimerHandle } from "../domain/clock.js";

/**
 * Many timers of the same delay on one clock timer. Entries added later expire later, so they wait
 * in a FIFO line and only the head's deadline is armed: adding and cancelling cost no Node timer,
 * which matters when every run of a busy second arms one (its checkpoint, its request timeout) and
 * almost all of them are cancelled long before they expire.
 */
export interface DelayQueue {
  /** Calls `fn` once the queue's delay has passed, unless cancelled first. */
  add(fn: () => void): TimerHandle;
}

/** A pending call; cancelled entries stay in line (without their function) until compacted or reached. */
class Entry implements TimerHandle {
  constructor(
    readonly at: number,
    public fn: (() => void) | undefined,
    private readonly line: Line,
  ) {}

  cancel(): void {
    if (!this.fn) return;
    this.fn = undefined;
    this.line.cancelled();
  }
}

/** Compaction starts past this many cancelled entries (and only when they outnumber live ones). */
const COMPACT_AFTER = 1024;

/** The line of one delay. */
class Line implements DelayQueue {
  private entries: Entry[] = [];
  private head = 0;
  private dead = 0;
  private timer: TimerHandle | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly delayMs: number,
  ) {}

  add(fn: () => void): TimerHandle {
    const entry = new Entry(this.clock.now() + this.delayMs, fn, this);
    this.entries.push(entry);
    if (!this.timer) this.arm(entry.at);
    return entry;
  }

  /** Counts a cancelled entry; drops them all in one pass once they dominate the line. */
  cancelled(): void {
    this.dead++;
    const live = this.entries.length - this.head - this.dead;
    if (this.dead < COMPACT_AFTER || this.dead < live) return;
    this.entries = this.entries.slice(this.head).filter((e) => e.fn);
    this.head = 0;
    this.dead = 0;
  }

  private arm(at: number): void {
    this.timer = this.clock.setTimer(at - this.clock.now(), () => this.expire());
  }

  private expire(): void {
    this.timer = undefined;
    const now = this.clock.now();
    const due: (() => void)[] = [];
    while (this.head < this.entries.length && this.entries[this.head]!.at <= now) {
      const entry = this.entries[this.head++]!;
      if (entry.fn) due.push(entry.fn);
      else this.dead--;
      entry.fn = undefined;
    }
    if (this.head === this.entries.length) {
      this.entries = [];
      this.head = 0;
    } else {
      this.arm(this.entries[this.head]!.at);
    }
    for (const fn of due) fn();
  }
}

/** A queue for one delay. */
export function createDelayQueue(clock: Clock, delayMs: number): DelayQueue {
  return new Line(clock, Math.max(0, delayMs));
}

/** Delay queues by delay: timers of any delay, each delay on its own line. */
export interface Delays {
  after(delayMs: number, fn: () => void): TimerHandle;
}

/** Creates the delay queues of one clock: one line per distinct delay used (the timeouts jobs configure), kept. */
export function createDelays(clock: Clock): Delays {
  const lines = new Map<number, DelayQueue>();
  return {
    after(delayMs, fn) {
      let line = lines.get(delayMs);
      if (!line) {
        line = createDelayQueue(clock, delayMs);
        lines.set(delayMs, line);
      }
      return line.add(fn);
    },
  };
}
