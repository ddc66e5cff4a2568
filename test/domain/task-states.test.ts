import { describe, expect, it } from "vitest";
import type { TaskSpec } from "../../src/domain/job.js";
import type { RunRecord, RunStatus } from "../../src/domain/run.js";
import { taskStates } from "../../src/domain/task-states.js";
import { makeRun, T0 } from "../support/fixtures.js";

const tasks: TaskSpec[] = [
  { taskId: "extract", name: "Extract", dependsOn: [], handler: "h" },
  { taskId: "load", name: "Load", dependsOn: ["extract"], handler: "h" },
];
const result = (taskId: string, status: RunStatus) => ({
  taskId,
  status,
  attempts: [],
  startedAt: T0,
  finishedAt: T0 + 5,
  error: status === "failed" ? "HTTP 500" : "",
});
const runWith = (status: RunStatus, results: ReturnType<typeof result>[]): RunRecord => makeRun("run_1", "job_1", T0, { status, taskResults: results });

describe("taskStates: each task of a job in its latest run", () => {
  it.each<[string, RunRecord | undefined, (RunStatus | undefined)[]]>([
    ["without a run, no task has a state", undefined, [undefined, undefined]],
    ["a task the running run has not reached is queued", runWith("running", [result("extract", "running")]), ["running", "queued"]],
    ["a task a finished run never reached is skipped", runWith("cancelled", [result("extract", "cancelled")]), ["cancelled", "skipped"]],
    ["every task's own result", runWith("failed", [result("extract", "succeeded"), result("load", "failed")]), ["succeeded", "failed"]],
  ])("%s", (_name, run, expected) => {
    expect(taskStates(tasks, run).map((t) => t.status)).toEqual(expected);
  });

  it("keeps names, dependencies, times and errors, and lists results of tasks no longer in the job after the others", () => {
    const states = taskStates(tasks, runWith("failed", [result("load", "failed"), result("old", "succeeded")]));
    expect(states).toEqual([
      { taskId: "extract", name: "Extract", dependsOn: [], status: "skipped", error: "" },
      { taskId: "load", name: "Load", dependsOn: ["extract"], status: "failed", startedAt: T0, finishedAt: T0 + 5, error: "HTTP 500" },
      { taskId: "old", name: "old", dependsOn: [], status: "succeeded", startedAt: T0, finishedAt: T0 + 5, error: "" },
    ]);
  });
});
