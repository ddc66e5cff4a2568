/**
 * Runs `fn` after every earlier call with the same key has settled, so that calls sharing a key
 * never overlap. Keys are forgotten once idle.
 */
export type KeyedLock = <T>(key: string, fn: () => Promise<T>) => Promise<T>;

/**
 * Creates an in-process lock keyed by string. The store serialises its read-modify-write calls on
 * one document with it: FerretDB (v1, SQLite backend) executes an update as "query, then rewrite
 * the whole document by _id", so concurrent updates of one document are not atomic there (a
 * compare-and-set can have several winners, a `$inc` can be lost). On MongoDB it is redundant and
 * cheap. It cannot protect against other processes; see `updateJob` for the cross-process case.
 */
export function createKeyedLock(): KeyedLock {
  const tails = new Map<string, Promise<void>>();
  return async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const previous = tails.get(key) ?? Promise.resolve();
    const result = previous.then(fn);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    tails.set(key, tail);
    try {
      return await result;
    } finally {
      if (tails.get(key) === tail) tails.delete(key);
    }
  };
}
