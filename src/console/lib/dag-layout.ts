/** A task as the layout needs it. */
export interface DagTask {
  taskId: string;
  name?: string;
  dependsOn: readonly string[];
}

/** A placed task box. */
export interface DagNode {
  id: string;
  label: string;
  /** 0 for tasks with no dependency; else one more than the deepest dependency. */
  level: number;
  x: number;
  y: number;
}

/** A dependency arrow, from the dependency to the task that waits for it. */
export interface DagEdge {
  from: string;
  to: string;
  /** SVG path data. */
  path: string;
}

/** The drawn graph. */
export interface DagLayout {
  nodes: DagNode[];
  edges: DagEdge[];
  width: number;
  height: number;
}

/** Box size and spacing, in SVG units (pixels at 1:1). */
export const DAG_BOX = { width: 150, height: 34, gapX: 56, gapY: 14, pad: 8 };

/**
 * Lays a DAG out left to right: each task in the column of its level (its longest dependency
 * chain), in the given order within a column, with an arrow from each dependency. Unknown
 * dependencies are ignored and a cycle (which the server refuses) cannot loop: a task met again
 * while its level is computed counts as level 0.
 */
export function layoutDag(tasks: readonly DagTask[]): DagLayout {
  const byId = new Map(tasks.map((t) => [t.taskId, t]));
  const levels = new Map<string, number>();
  const levelOf = (id: string, visiting: Set<string>): number => {
    const known = levels.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 0;
    visiting.add(id);
    const deps = byId.get(id)!.dependsOn.filter((d) => byId.has(d));
    const level = deps.length ? Math.max(...deps.map((d) => levelOf(d, visiting))) + 1 : 0;
    visiting.delete(id);
    levels.set(id, level);
    return level;
  };
  const rows: number[] = [];
  const nodes = tasks.map((t) => {
    const level = levelOf(t.taskId, new Set());
    const row = (rows[level] = (rows[level] ?? -1) + 1);
    return {
      id: t.taskId,
      label: t.name || t.taskId,
      level,
      x: DAG_BOX.pad + level * (DAG_BOX.width + DAG_BOX.gapX),
      y: DAG_BOX.pad + row * (DAG_BOX.height + DAG_BOX.gapY),
    };
  });
  const at = new Map(nodes.map((n) => [n.id, n]));
  const edges = tasks.flatMap((t) =>
    t.dependsOn.filter((d) => at.has(d)).map((d) => ({ from: d, to: t.taskId, path: edgePath(at.get(d)!, at.get(t.taskId)!) })),
  );
  const columns = rows.length;
  const tallest = Math.max(0, ...rows.map((r) => r + 1));
  return {
    nodes,
    edges,
    width: columns ? 2 * DAG_BOX.pad + columns * DAG_BOX.width + (columns - 1) * DAG_BOX.gapX : 0,
    height: tallest ? 2 * DAG_BOX.pad + tallest * DAG_BOX.height + (tallest - 1) * DAG_BOX.gapY : 0,
  };
}

/** A horizontal S-curve from the right edge of `a` to the left edge of `b`. */
function edgePath(a: DagNode, b: DagNode): string {
  const x1 = a.x + DAG_BOX.width;
  const y1 = a.y + DAG_BOX.height / 2;
  const x2 = b.x;
  const y2 = b.y + DAG_BOX.height / 2;
  const bend = Math.max(20, (x2 - x1) / 2);
  return `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`;
}
