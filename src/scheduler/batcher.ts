/** Most items one flush writes; larger bursts are split so no single write blocks for long. */
const MAX_BATCH = 1000;

/**
 * Groups calls made in the same turn of the event loop into one batched call: every caller gets
 * its own result, while the store sees one transaction (or one round of parallel writes) instead
 * of thousands. Flushes on the next check phase (setImmediate), i.e. after current I/O callbacks,
 * so batching adds no timer delay.
 */
export function createBatcher<T, R>(flush: (items: T[]) => Promise<R[]>): (item: T) => Promise<R> {
  let pending: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  let scheduled = false;
  const run = () => {
    scheduled = false;
    const batch = pending.splice(0, MAX_BATCH);
    if (pending.length > 0) schedule();
    flush(batch.map((b) => b.item)).then(
      (results) => batch.forEach((b, i) => b.resolve(results[i]!)),
      (err: unknown) => batch.forEach((b) => b.reject(err)),
    );
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(run);
  };
  return (item) =>
    new Promise<R>((resolve, reject) => {
      pending.push({ item, resolve, reject });
      schedule();
    });
}
