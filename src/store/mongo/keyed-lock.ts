/**
 * Runs `fn` after every earlier call sharing any of its keys has settled, so that calls sharing a
 * key never overlap. A call with several keys waits for all of them at once (it never holds one
 * key while waiting for another, so keys cannot deadlock). Keys are forgotten once idle.
 */
export type KeyedLock = <T>(keys: string | readonly string[], fn: () => Promise<T>) => Promise<T>;

/**
 * Creates an in-process lock keyed by string. The store serialises its read-modify-write calls on
 * one document with it: FerretDB (v1, SQLite backend) executes an update as "query, then rewrite
 * the whole document by _id", so concurrent updates of one document are not atomic there (a
 * compare-and-set can have several winners, a `$inc` can be lost). On MongoDB it is redundant and
 * cheap. It cannot protect against other processes; the cross-process decisions of the store are
 * therefore made by unique indexes (inserts), never by updates.
 */
export function createKeyedLock(): KeyedLock {
  const tails = new Map<string, Promise<void>>();
  return async <T>(keys: string | readonly string[], fn: () => Promise<T>): Promise<T> => {
    const list = typeof keys === "string" ? [keys] : [...new Set(keys)];
    const previous = Promise.all(list.map((k) => tails.get(k)));
    const result = previous.then(fn);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    for (const k of list) tails.set(k, tail);
    try {
      return await result;
    } finally {
      for (const k of list) if (tails.get(k) === tail) tails.delete(k);
    }
  };
}
