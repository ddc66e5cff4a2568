/** Resolves on the next turn of the event loop, after pending I/O and the bus's deliveries (setImmediate). */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Lets `turns` event-loop turns pass: for chains of work that each wait a turn. */
export async function flushTurns(turns: number): Promise<void> {
  for (let i = 0; i < turns; i++) await flush();
}
