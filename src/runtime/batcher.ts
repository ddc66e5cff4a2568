import type { Clock } from "../domain/clock.js";

/** Most items one flush writes; larger bursts are split so no single write blocks for long. */
const MAX_BATCH = 1000;

/** When a batch is written. */
export interface BatcherOptions {
  /**
   * Wait this long after the first item before writing, so that items of a burst spread over a
   * few milliseconds share one write. Needs `clock`. Default: the next turn of the event loop.
   */
  delayMs?: number;
  clock?: Clock;
  /** Most items one flush writes (default 1,000); the rest wait for the next turn. */
  maxBatch?: number;
}

/**
 * Groups calls into one batched call: every caller gets its own result, while the store (or etcd)
 * sees one transaction instead of thousands. By default calls of the same event-loop turn are
 * grouped, flushed on the next check phase (setImmediate), after current I/O callbacks, so
 * batching adds no timer delay.
 */
export function createBatcher<T, R>(flush: (items: T[]) => Promise<R[]>, options: BatcherOptions = {}): (item: T) => Promise<R> {
  const pending: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  let scheduled = false;
  const run = () => {
    scheduled = false;
    const batch = pending.splice(0, options.maxBatch ?? MAX_BATCH);
    if (pending.length > 0) schedule();
    flush(batch.map((b) => b.item)).then(
      (results) => batch.forEach((b, i) => b.resolve(results[i]!)),
      (err: unknown) => batch.forEach((b) => b.reject(err)),
    );
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    if (options.delayMs && options.clock) options.clock.setTimer(options.delayMs, run);
    else setImmediate(run);
  };
  return (item) =>
    new Promise<R>((resolve, reject) => {
      pending.push({ item, resolve, reject });
      schedule();
    });
}
