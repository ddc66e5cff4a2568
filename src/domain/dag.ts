import { CronError } from "./cron-error.js";

/** The part of a task that ordering needs. */
export interface DagNode {
  taskId: string;
  dependsOn: string[];
}

/**
 * Orders tasks so that every task comes after its dependencies (Kahn's algorithm, ties kept in
 * input order). Throws invalid_argument naming `field` for duplicate ids, unknown dependencies
 * or a cycle.
 */
export function topologicalOrder<T extends DagNode>(tasks: readonly T[], field = "tasks"): T[] {
  const byId = indexTasks(tasks, field);
  const indegree = new Map(tasks.map((t) => [t.taskId, t.dependsOn.length]));
  const ready = tasks.filter((t) => t.dependsOn.length === 0);
  const ordered: T[] = [];
  while (ready.length > 0) {
    const task = ready.shift()!;
    ordered.push(task);
    for (const other of tasks) {
      if (!other.dependsOn.includes(task.taskId)) continue;
      const left = indegree.get(other.taskId)! - 1;
      indegree.set(other.taskId, left);
      if (left === 0) ready.push(byId.get(other.taskId)!);
    }
  }
  if (ordered.length !== tasks.length) {
    const stuck = tasks.filter((t) => !ordered.includes(t)).map((t) => t.taskId);
    throw CronError.invalid(field, `dependency cycle among tasks ${stuck.join(", ")}`);
  }
  return ordered;
}

function indexTasks<T extends DagNode>(tasks: readonly T[], field: string): Map<string, T> {
  const byId = new Map<string, T>();
  for (const t of tasks) {
    if (byId.has(t.taskId)) throw CronError.invalid(field, `duplicate task_id ${JSON.stringify(t.taskId)}`);
    byId.set(t.taskId, t);
  }
  for (const t of tasks) {
    for (const dep of t.dependsOn) {
      if (!byId.has(dep)) throw CronError.invalid(field, `task ${t.taskId} depends on unknown task ${JSON.stringify(dep)}`);
      if (dep === t.taskId) throw CronError.invalid(field, `task ${t.taskId} depends on itself`);
    }
    if (new Set(t.dependsOn).size !== t.dependsOn.length) {
      throw CronError.invalid(field, `task ${t.taskId} lists a dependency twice`);
    }
  }
  return byId;
}
