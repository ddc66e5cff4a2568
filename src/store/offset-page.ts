import type { OffsetQuery } from "./store.js";

/** How to read one offset page: which end to walk from, how many entries to skip and to take. */
export interface OffsetWindow {
  /** Walk from the last entry backwards (then reverse what was read). */
  descending: boolean;
  skip: number;
  take: number;
}

/** Where an offset page starts (0-based): its `offset` when given, else where page `page` (1-based) of `limit` starts. */
export function offsetStart(query: OffsetQuery): number {
  const limit = Math.max(0, Math.floor(query.limit));
  return Math.max(0, Math.floor(query.offset ?? (Math.floor(query.page) - 1) * limit));
}

/**
 * The cheaper way to read the `limit` items from position `start` (0-based) among `total`: an
 * offset costs a walk over every entry it skips (an index has no positions), so a page past the
 * middle is read from the end, and no page walks more than half of the entries. `take` is 0 for a
 * page beyond the end (or an empty limit); the last page takes only what is left.
 */
export function offsetWindow(total: number, start: number, limit: number): OffsetWindow {
  start = Math.max(0, start);
  if (limit <= 0 || start >= total) return { descending: false, skip: start, take: 0 };
  const end = Math.min(total, start + limit);
  const fromEnd = total - end;
  return fromEnd < start ? { descending: true, skip: fromEnd, take: end - start } : { descending: false, skip: start, take: end - start };
}
