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
  readonly waiting: number;
}

/** Creates an empty queue. */
export function createRunQueue<T extends Queued>(): RunQueue<T> {
  const perJob = new Map<string, T[]>();
  const executing = new Map<string, { count: number; exclusive: boolean }>();
  const ready: string[] = [];
  let readyHead = 0;
  const inReady = new Set<string>();
  let waiting = 0;

  const startable = (jobId: string) => {
    const head = perJob.get(jobId)?.[0];
    const now = executing.get(jobId);
    if (!head) return false;
    if (!now) return true;
    return !now.exclusive && !head.exclusive;
  };
  const offer = (jobId: string) => {
    if (inReady.has(jobId) || !startable(jobId)) return;
    inReady.add(jobId);
    ready.push(jobId);
  };
  const nextReady = (): string | undefined => {
    if (readyHead >= ready.length) return undefined;
    const jobId = ready[readyHead++]!;
    // Compact once the consumed prefix dominates, keeping shift-like cost amortised O(1).
    if (readyHead > 1024 && readyHead * 2 > ready.length) {
      ready.splice(0, readyHead);
      readyHead = 0;
    }
    inReady.delete(jobId);
    return jobId;
  };

  return {
    push(item) {
      const queue = perJob.get(item.jobId);
      if (queue) queue.push(item);
      else perJob.set(item.jobId, [item]);
      waiting++;
      offer(item.jobId);
    },
    take() {
      for (let jobId = nextReady(); jobId !== undefined; jobId = nextReady()) {
        if (!startable(jobId)) continue;
        const queue = perJob.get(jobId)!;
        const item = queue.shift()!;
        if (queue.length === 0) perJob.delete(jobId);
        waiting--;
        const now = executing.get(jobId) ?? { count: 0, exclusive: false };
        executing.set(jobId, { count: now.count + 1, exclusive: now.exclusive || item.exclusive });
        offer(jobId);
        return item;
      }
      return undefined;
    },
    done(item) {
      const now = executing.get(item.jobId);
      if (!now) return;
      if (now.count <= 1) executing.delete(item.jobId);
      else executing.set(item.jobId, { count: now.count - 1, exclusive: now.exclusive && !item.exclusive });
      offer(item.jobId);
    },
    get waiting() {
      return waiting;
    },
  };
}
