/**
 * A line of items handled a chunk per event-loop turn, in arrival order: work that comes in
 * thousands at once (a due slot's runs, the bookkeeping that waited for a burst's sends) yields
 * to I/O between chunks instead of holding the loop for all of it.
 */
export interface TurnChunks<T> {
  /** Adds items; {@link TurnChunks.start} handles them. */
  push(item: T): void;
  /** Handles a chunk now (unless a chunk is already scheduled), the rest on later turns. */
  start(): void;
  /** Items not handled yet. */
  readonly pending: number;
}

/** Creates a line handling `chunk` items per turn; `afterChunk` runs after each chunk. */
export function createTurnChunks<T>(chunk: number, handle: (item: T) => void, afterChunk: () => void = () => undefined): TurnChunks<T> {
  let items: T[] = [];
  let next = 0;
  let scheduled = false;
  const run = () => {
    scheduled = false;
    const end = Math.min(items.length, next + chunk);
    while (next < end) handle(items[next++]!);
    if (next < items.length) {
      scheduled = true;
      setImmediate(run);
    } else {
      items = [];
      next = 0;
    }
    afterChunk();
  };
  return {
    push: (item) => void items.push(item),
    start: () => {
      if (!scheduled) run();
    },
    get pending() {
      return items.length - next;
    },
  };
}
