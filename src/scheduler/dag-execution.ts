import type { CancelSignal } from "../domain/cancellation.js";
import { topologicalOrder } from "../domain/dag.js";
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
  onProgress: (results: TaskResultRecord[]) => Promise<void>;
}

const NOT_SUCCEEDED: RunStatus[] = ["failed", "skipped", "cancelled", "dead_lettered"];

/**
 * Runs a DAG in waves: every task whose dependencies all succeeded runs, in parallel with the
 * others of its wave; a task with a dependency that did not succeed is marked skipped, and so,
 * transitively, are its dependants. Results keep the dependency order.
 */
export async function runDag(deps: AttemptLoopDeps, input: DagInput): Promise<DagResult> {
  const ordered = topologicalOrder(input.tasks);
  const results = new Map<string, TaskResultRecord>(ordered.map((t) => [t.taskId, { taskId: t.taskId, status: "queued", attempts: [], error: "" }]));
  const snapshot = () => ordered.map((t) => results.get(t.taskId)!);
  for (;;) {
    skipBlocked(ordered, results);
    const ready = ordered.filter((t) => results.get(t.taskId)!.status === "queued" && t.dependsOn.every((d) => results.get(d)!.status === "succeeded"));
    if (ready.length === 0) break;
    await Promise.all(ready.map((task) => runTask(deps, input, task, results, snapshot)));
    await input.onProgress(snapshot());
  }
  const all = snapshot();
  await input.onProgress(all);
  const failed = all.find((r) => r.status !== "succeeded");
  const cancelled = input.signal.cancelled;
  return { ok: !failed, cancelled, taskResults: all, error: failed ? `task ${failed.taskId} ${failed.status}${failed.error ? `: ${failed.error}` : ""}` : "" };
}

function skipBlocked(ordered: TaskSpec[], results: Map<string, TaskResultRecord>): void {
  for (const task of ordered) {
    const result = results.get(task.taskId)!;
    if (result.status !== "queued") continue;
    const blocker = task.dependsOn.find((d) => NOT_SUCCEEDED.includes(results.get(d)!.status));
    if (blocker) results.set(task.taskId, { ...result, status: "skipped", error: `dependency ${blocker} did not succeed` });
  }
}

async function runTask(deps: AttemptLoopDeps, input: DagInput, task: TaskSpec, results: Map<string, TaskResultRecord>, snapshot: () => TaskResultRecord[]) {
  const startedAt = deps.clock.now();
  const target = input.targetOf(task);
  if (typeof target === "string") {
    results.set(task.taskId, { taskId: task.taskId, status: "failed", attempts: [], startedAt, finishedAt: startedAt, error: target });
    return;
  }
  results.set(task.taskId, { taskId: task.taskId, status: "running", attempts: [], startedAt, error: "" });
  const ctx = { runId: `${input.runId}:${task.taskId}`, jobId: input.jobId, scheduledAt: input.scheduledAt, nodeId: input.nodeId };
  const outcome = await runAttempts(deps, target, input.retry, ctx, input.signal, async (attempts) => {
    results.set(task.taskId, { ...results.get(task.taskId)!, attempts: [...attempts] });
    await input.onProgress(snapshot());
  });
  const status: RunStatus = outcome.ok ? "succeeded" : outcome.cancelled ? "cancelled" : "failed";
  results.set(task.taskId, { ...results.get(task.taskId)!, status, finishedAt: deps.clock.now(), error: outcome.error });
}
