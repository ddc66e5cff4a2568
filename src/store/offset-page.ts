/** How to read one offset page: which end to walk from, how many entries to skip and to take. */
export interface OffsetWindow {
  /** Walk from the last entry backwards (then reverse what was read). */
  descending: boolean;
  skip: number;
  take: number;
}

/**
 * The cheaper way to read page `page` (1-based) of `limit` items among `total`: an offset costs
 * a walk over every entry it skips (an index has no positions), so a page past the middle is read
 * from the end, and no page walks more than half of the entries. `take` is 0 for a page beyond
 * the end (or an empty limit); the last page takes only what is left.
 */
export function offsetWindow(total: number, page: number, limit: number): OffsetWindow {
  const start = Math.max(0, page - 1) * Math.max(0, limit);
  if (limit <= 0 || start >= total) return { descending: false, skip: start, take: 0 };
  const end = Math.min(total, start + limit);
  const fromEnd = total - end;
  return fromEnd < start ? { descending: true, skip: fromEnd, take: end - start } : { descending: false, skip: start, take: end - start };
}
