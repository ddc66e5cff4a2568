import type { CancelSignal } from "../domain/cancellation.js";
import { nextDagStep, resumeTaskResults, topologicalOrder } from "../domain/dag.js";
import type { HttpTargetSpec, RetrySpec, TaskSpec } from "../domain/job.js";
import type { RunStatus, TaskResultRecord } from "../domain/run.js";
import { runAttempts, type AttemptLoopDeps } from "./attempt-loop.js";

/** The outcome of a DAG run. */
export interface DagResult {
  ok: boolean;
  cancelled: boolean;
  taskResults: TaskResultRecord[];
  error: string;
}

/** What one DAG run needs. */
export interface DagInput {
  tasks: TaskSpec[];
  /** The target of a task, or an error message (e.g. an unconfigured handler). */
  targetOf: (task: TaskSpec) => HttpTargetSpec | string;
  retry: RetrySpec;
  runId: string;
  jobId: string;
  scheduledAt: number;
  /** The replica executing the run. */
  nodeId: string;
  signal: CancelSignal;
  /**
   * The task results the run starts with. A task that already succeeded there is not run again
   * (see {@link resumeTaskResults}): a redrive runs only the failed and skipped tasks, and a run
   * re-claimed after its replica died resumes instead of repeating what succeeded.
   */
  previous: readonly TaskResultRecord[];
  /** Every change of a task's state: a task starting, an attempt, a task ending or skipped. */
  onProgress: (results: TaskResultRecord[]) => Promise<void>;
}

/** Why a task that never started ends cancelled. */
const NOT_STARTED = "the run was cancelled before the task started";

/**
 * Runs a DAG: each task starts as soon as its own dependencies have succeeded, in parallel with
 * whatever else runs; a task with a dependency that did not succeed is skipped, and so,
 * transitively, are its dependants. Once the run is cancelled no task starts. Results keep the
 * dependency order.
 */
export async function runDag(deps: AttemptLoopDeps, input: DagInput): Promise<DagResult> {
  const ordered = topologicalOrder(input.tasks);
  const results = new Map(resumeTaskResults(ordered, input.previous).map((r) => [r.taskId, r]));
  const byId = new Map(ordered.map((t) => [t.taskId, t]));
  const snapshot = () => ordered.map((t) => results.get(t.taskId)!);
  const running = new Map<string, Promise<void>>();
  for (;;) {
    if (input.signal.cancelled) cancelQueued(results);
    const step = nextDagStep(ordered, (taskId) => results.get(taskId)!.status);
    for (const { taskId, blocker } of step.skip) {
      results.set(taskId, { ...results.get(taskId)!, status: "skipped", error: `dependency ${blocker} did not succeed` });
    }
    for (const taskId of step.start) {
      running.set(
        taskId,
        runTask(deps, input, byId.get(taskId)!, results, snapshot).finally(() => running.delete(taskId)),
      );
    }
    // One change per step: the tasks that just ended, were skipped or started (with started_at).
    await input.onProgress(snapshot());
    // A task that started may already have ended (an unconfigured handler): decide again then.
    if (running.size === 0 && step.start.length === 0) break;
    if (running.size > 0) await Promise.race(running.values());
  }
  const all = snapshot();
  const failed = all.find((r) => r.status !== "succeeded");
  const cancelled = input.signal.cancelled;
  return { ok: !failed, cancelled, taskResults: all, error: failed ? `task ${failed.taskId} ${failed.status}${failed.error ? `: ${failed.error}` : ""}` : "" };
}

function cancelQueued(results: Map<string, TaskResultRecord>): void {
  for (const [taskId, result] of results) {
    if (result.status === "queued") results.set(taskId, { ...result, status: "cancelled", error: NOT_STARTED });
  }
}

/** Runs one task to its end; its `running` state is set before the first request leaves. */
async function runTask(deps: AttemptLoopDeps, input: DagInput, task: TaskSpec, results: Map<string, TaskResultRecord>, snapshot: () => TaskResultRecord[]) {
  const startedAt = deps.clock.now();
  const target = input.targetOf(task);
  if (typeof target === "string") {
    results.set(task.taskId, { taskId: task.taskId, status: "failed", attempts: [], startedAt, finishedAt: startedAt, error: target });
    return;
  }
  results.set(task.taskId, { taskId: task.taskId, status: "running", attempts: [], startedAt, error: "" });
  const ctx = { runId: input.runId, taskId: task.taskId, jobId: input.jobId, scheduledAt: input.scheduledAt, nodeId: input.nodeId };
  const outcome = await runAttempts(deps, target, input.retry, ctx, input.signal, async (attempts) => {
    results.set(task.taskId, { ...results.get(task.taskId)!, attempts: [...attempts] });
    await input.onProgress(snapshot());
  });
  const status: RunStatus = outcome.ok ? "succeeded" : outcome.cancelled ? "cancelled" : "failed";
  results.set(task.taskId, { ...results.get(task.taskId)!, status, finishedAt: deps.clock.now(), error: outcome.error });
}
