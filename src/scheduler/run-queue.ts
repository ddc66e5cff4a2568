/** An entry of the queue: which job it belongs to and whether it must run alone. */
export interface Queued {
  jobId: string;
  exclusive: boolean;
}

/**
 * The waiting line of the worker pool, O(1) per operation however long it gets. Runs of one job
 * leave in submission order; an exclusive run starts only when nothing of its job executes, and
 * nothing of a job starts while an exclusive run of it executes. Jobs take turns in the order
 * their head run became startable.
 */
export interface RunQueue<T extends Queued> {
  push(item: T): void;
  /** The next startable item, marked executing; undefined when none can start. */
  take(): T | undefined;
  /** An executing item finished. */
  done(item: T): void;
  /**
   * The least `key` of the waiting items (undefined when none waits). Each job's runs wait in
   * submission order, so only the head of each job's line is read: O(jobs waiting), for scrapes.
   */
  least(key: (item: T) => number): number | undefined;
  readonly waiting: number;
}

/** What the queue knows of one job: its waiting runs and what of it executes. */
interface JobLine<T> {
  /** Waiting runs, in submission order, from `head` on. */
  items: T[];
  head: number;
  executing: number;
  exclusiveExecuting: boolean;
  /** Whether the job is in the ready line. */
  ready: boolean;
}

/** Creates an empty queue. One map lookup per operation: a busy second queues thousands of runs. */
export function createRunQueue<T extends Queued>(): RunQueue<T> {
  const lines = new Map<string, JobLine<T>>();
  const ready: JobLine<T>[] = [];
  let readyHead = 0;
  let waiting = 0;

  const startable = (line: JobLine<T>) => {
    if (line.head >= line.items.length) return false;
    if (line.executing === 0) return true;
    return !line.exclusiveExecuting && !line.items[line.head]!.exclusive;
  };
  const offer = (line: JobLine<T>) => {
    if (line.ready || !startable(line)) return;
    line.ready = true;
    ready.push(line);
  };
  const nextReady = (): JobLine<T> | undefined => {
    if (readyHead >= ready.length) return undefined;
    const line = ready[readyHead++]!;
    // Compact once the consumed prefix dominates, keeping shift-like cost amortised O(1).
    if (readyHead > 1024 && readyHead * 2 > ready.length) {
      ready.splice(0, readyHead);
      readyHead = 0;
    }
    line.ready = false;
    return line;
  };
  /** Drops a job's line once nothing of it waits or executes. */
  const prune = (jobId: string, line: JobLine<T>) => {
    if (line.executing === 0 && line.head >= line.items.length && !line.ready) lines.delete(jobId);
  };

  return {
    push(item) {
      let line = lines.get(item.jobId);
      if (!line) {
        line = { items: [], head: 0, executing: 0, exclusiveExecuting: false, ready: false };
        lines.set(item.jobId, line);
      }
      line.items.push(item);
      waiting++;
      offer(line);
    },
    take() {
      for (let line = nextReady(); line !== undefined; line = nextReady()) {
        if (!startable(line)) continue;
        const item = line.items[line.head]!;
        line.items[line.head++] = undefined as unknown as T;
        if (line.head === line.items.length) {
          line.items = [];
          line.head = 0;
        }
        waiting--;
        line.executing++;
        line.exclusiveExecuting ||= item.exclusive;
        offer(line);
        return item;
      }
      return undefined;
    },
    done(item) {
      const line = lines.get(item.jobId);
      if (!line || line.executing === 0) return;
      line.executing--;
      if (item.exclusive || line.executing === 0) line.exclusiveExecuting = false;
      offer(line);
      prune(item.jobId, line);
    },
    least(key) {
      let least: number | undefined;
      for (const line of lines.values()) {
        if (line.head >= line.items.length) continue;
        const k = key(line.items[line.head]!);
        if (least === undefined || k < least) least = k;
      }
      return least;
    },
    get waiting() {
      return waiting;
    },
  };
}
