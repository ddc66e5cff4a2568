import type { TaskSpec } from "./job.js";
import { isFinal, type RunRecord, type RunStatus } from "./run.js";

/** One DAG task and where the job's latest run stands with it. */
export interface TaskState {
  taskId: string;
  name: string;
  dependsOn: string[];
  /** Undefined when the job never ran. */
  status?: RunStatus;
  startedAt?: number;
  finishedAt?: number;
  error: string;
}

/**
 * The state of each task (in the order given) in a run: its result when the run reached it; else
 * `queued` while the run is not final, `skipped` once it ended without running it. Without a run,
 * every task has no state. Results of tasks no longer in the job follow, as the run recorded them.
 */
export function taskStates(tasks: TaskSpec[], run: RunRecord | undefined): TaskState[] {
  const results = new Map((run?.taskResults ?? []).map((r) => [r.taskId, r]));
  const unreached: RunStatus | undefined = run && (isFinal(run.status) ? "skipped" : "queued");
  const known = tasks.map((t): TaskState => {
    const r = results.get(t.taskId);
    const base = { taskId: t.taskId, name: t.name, dependsOn: t.dependsOn };
    return r ? { ...base, status: r.status, startedAt: r.startedAt, finishedAt: r.finishedAt, error: r.error } : { ...base, status: unreached, error: "" };
  });
  const ids = new Set(tasks.map((t) => t.taskId));
  const gone = [...results.values()].filter((r) => !ids.has(r.taskId));
  return [
    ...known,
    ...gone.map((r) => ({
      taskId: r.taskId,
      name: r.taskId,
      dependsOn: [],
      status: r.status,
      startedAt: r.startedAt,
      finishedAt: r.finishedAt,
      error: r.error,
    })),
  ];
}
