import { CronError } from "./cron-error.js";
import { isFinal, type RunStatus, type TaskResultRecord } from "./run.js";

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

/** What a DAG run does next, decided from the state of its tasks (see {@link nextDagStep}). */
export interface DagStep {
  /** Queued tasks whose dependencies have all succeeded: they start now. */
  start: string[];
  /** Queued tasks that can never run, each with the dependency that did not succeed. */
  skip: { taskId: string; blocker: string }[];
}

/**
 * Decides the next step of a DAG run: a queued task starts as soon as its own dependencies have
 * succeeded (not when a whole wave has finished), and a queued task with a dependency that ended
 * without succeeding is skipped, transitively within this one step. `ordered` is in dependency
 * order ({@link topologicalOrder}); `statusOf` gives every task's current state.
 */
export function nextDagStep(ordered: readonly DagNode[], statusOf: (taskId: string) => RunStatus): DagStep {
  const skipped = new Set<string>();
  const step: DagStep = { start: [], skip: [] };
  const blocked = (dep: string) => skipped.has(dep) || (statusOf(dep) !== "succeeded" && isFinal(statusOf(dep)));
  for (const task of ordered) {
    if (statusOf(task.taskId) !== "queued") continue;
    const blocker = task.dependsOn.find(blocked);
    if (blocker !== undefined) {
      skipped.add(task.taskId);
      step.skip.push({ taskId: task.taskId, blocker });
    } else if (task.dependsOn.every((dep) => statusOf(dep) === "succeeded")) {
      step.start.push(task.taskId);
    }
  }
  return step;
}

/**
 * The task results a DAG run starts from, one per task in dependency order: the result of a task
 * that already succeeded in `previous` (a redrive's pre-filled results, or the progress of a run
 * re-claimed after its replica died) is kept as it is, attempts included, and that task does not
 * run again; every other task starts queued. Results of tasks no longer in the spec are dropped.
 */
export function resumeTaskResults(tasks: readonly DagNode[], previous: readonly TaskResultRecord[]): TaskResultRecord[] {
  if (tasks.length === 0) return [];
  const succeeded = new Map(previous.filter((r) => r.status === "succeeded").map((r) => [r.taskId, r]));
  return topologicalOrder(tasks).map((t) => succeeded.get(t.taskId) ?? { taskId: t.taskId, status: "queued", attempts: [], error: "" });
}
