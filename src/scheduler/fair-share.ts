/**
 * At most `limit` of `items`, taken one project at a time in turn and, within a project, one job
 * at a time in turn (projects and jobs in the order they first appear, each job's items in their
 * order); and the rest, both in the items' order. When a replica has room for only some of the
 * runs offered, a job offering thousands (a backfill, a catch-up) does not crowd out the single
 * runs of the others, and a project of many jobs does not crowd out the other projects. All of
 * them when they fit. Without `projectOf`, every item is of one project. O(items).
 */
export function takeFairly<T>(
  items: readonly T[],
  limit: number,
  jobOf: (item: T) => string,
  projectOf: (item: T) => string = () => "",
): { taken: T[]; left: T[] } {
  if (items.length <= limit) return { taken: [...items], left: [] };
  const projects = new Map<string, T[]>();
  for (const item of items) {
    const key = projectOf(item);
    const group = projects.get(key);
    if (group) group.push(item);
    else projects.set(key, [item]);
  }
  const byProject = [...projects.values()].map((group) => inTurn(group, jobOf));
  const picked = new Set(inTurnOf(byProject).slice(0, Math.max(0, limit)));
  return { taken: items.filter((i) => picked.has(i)), left: items.filter((i) => !picked.has(i)) };
}

/** `items` reordered one key at a time in turn: the first item of each key, then the second of each… */
function inTurn<T>(items: readonly T[], keyOf: (item: T) => string): T[] {
  const lines = new Map<string, T[]>();
  for (const item of items) {
    const line = lines.get(keyOf(item));
    if (line) line.push(item);
    else lines.set(keyOf(item), [item]);
  }
  return inTurnOf([...lines.values()]);
}

/** The lines' items, one line at a time in turn; an exhausted line leaves the rotation. */
function inTurnOf<T>(lines: T[][]): T[] {
  const out: T[] = [];
  let active = lines;
  for (let round = 0; active.length > 0; round++) {
    for (const line of active) out.push(line[round]!);
    active = active.filter((line) => line.length > round + 1);
  }
  return out;
}
