import type { Page } from "../store.js";

/**
 * Turns `pageSize + 1` fetched items into a page: the extra item only signals that there is more,
 * and the cursor is the key of the last item returned.
 */
export function pageOf<T>(items: T[], pageSize: number, key: (item: T) => string): Page<T> {
  if (items.length <= pageSize) return { items };
  const page = items.slice(0, pageSize);
  const last = page[page.length - 1];
  return last === undefined ? { items: page } : { items: page, nextCursor: key(last) };
}

/** A positive limit for a query: the driver reads a limit of 0 as "no limit". */
export function fetchLimit(pageSize: number): number {
  return Math.max(0, Math.floor(pageSize)) + 1;
}
