/**
 * At most `limit` of `items`, taken one per job in turn (jobs in the order they first appear, each
 * job's items in their order), and the rest, both in the items' order: when a replica has room for
 * only some of the runs offered, a job offering thousands (a backfill, a catch-up) does not crowd
 * out the single runs of the others. All of them when they fit. O(items).
 */
export function takeFairly<T>(items: readonly T[], limit: number, jobOf: (item: T) => string): { taken: T[]; left: T[] } {
  if (items.length <= limit) return { taken: [...items], left: [] };
  const lines = new Map<string, T[]>();
  for (const item of items) {
    const line = lines.get(jobOf(item));
    if (line) line.push(item);
    else lines.set(jobOf(item), [item]);
  }
  const picked = new Set<T>();
  // Lines with items left, visited in turn; an exhausted line leaves the rotation.
  let active = [...lines.values()];
  for (let round = 0; picked.size < limit && active.length > 0; round++) {
    for (const line of active) {
      if (picked.size >= limit) break;
      picked.add(line[round]!);
    }
    active = active.filter((line) => line.length > round + 1);
  }
  return { taken: items.filter((i) => picked.has(i)), left: items.filter((i) => !picked.has(i)) };
}
