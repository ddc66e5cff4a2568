/**
 * Resolves on the next turn of the event loop, after pending I/O. A synchronous store resolves
 * every await in microtasks: work split into chunks awaits this between them, so requests and
 * responses get through instead of waiting for the whole of it.
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Calls `fn` on the next turn of the event loop, after pending I/O (see {@link nextTurn}). */
export function onNextTurn(fn: () => void): void {
  setImmediate(fn);
}
