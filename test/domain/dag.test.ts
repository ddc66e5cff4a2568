import { describe, expect, it } from "vitest";
import { nextDagStep, resumeTaskResults, topologicalOrder } from "../../src/domain/dag.js";
import type { RunStatus, TaskResultRecord } from "../../src/domain/run.js";

const t = (taskId: string, ...dependsOn: string[]) => ({ taskId, dependsOn });

describe("DAG ordering", () => {
  it("puts every task after its dependencies, keeping input order for ties", () => {
    const order = topologicalOrder([t("report", "load"), t("extract"), t("load", "extract", "schema"), t("schema")]);
    expect(order.map((x) => x.taskId)).toEqual(["extract", "schema", "load", "report"]);
  });

  const refused: [string, ReturnType<typeof t>[], RegExp][] = [
    ["a two-task cycle is refused", [t("a", "b"), t("b", "a")], /cycle among tasks a, b/],
    ["a self-dependency is refused", [t("a", "a")], /depends on itself/],
    ["an unknown dependency is refused", [t("a", "ghost")], /unknown task "ghost"/],
    ["a duplicate id is refused", [t("a"), t("a")], /duplicate task_id/],
    ["a dependency listed twice is refused", [t("a"), t("b", "a", "a")], /twice/],
  ];
  it.each(refused)("%s", (_name, tasks, message) => {
    expect(() => topologicalOrder(tasks)).toThrow(message);
  });
});

describe("next step of a DAG run", () => {
  // extract → transform → load; audit → report; notify after load and report.
  const dag = topologicalOrder([
    t("extract"),
    t("transform", "extract"),
    t("load", "transform"),
    t("audit"),
    t("report", "audit"),
    t("notify", "load", "report"),
  ]);
  const cases: [string, Record<string, RunStatus>, { start: string[]; skip: [string, string][] }][] = [
    ["every root starts at once", {}, { start: ["extract", "audit"], skip: [] }],
    [
      "a task starts once its own dependency succeeded, while an unrelated root still runs",
      { extract: "succeeded", audit: "running" },
      { start: ["transform"], skip: [] },
    ],
    [
      "a task waits while one of its dependencies still runs",
      { extract: "succeeded", transform: "succeeded", load: "succeeded", audit: "succeeded", report: "running" },
      { start: [], skip: [] },
    ],
    [
      "a failed task's dependants are skipped transitively in one step",
      { extract: "failed", audit: "running" },
      {
        start: [],
        skip: [
          ["transform", "extract"],
          ["load", "transform"],
          ["notify", "load"],
        ],
      },
    ],
    [
      "a cancelled dependency blocks like a failed one",
      { extract: "succeeded", transform: "cancelled", audit: "succeeded" },
      {
        start: ["report"],
        skip: [
          ["load", "transform"],
          ["notify", "load"],
        ],
      },
    ],
    [
      "a skipped dependency blocks its dependants",
      { extract: "succeeded", transform: "succeeded", load: "skipped", audit: "succeeded", report: "succeeded" },
      { start: [], skip: [["notify", "load"]] },
    ],
    [
      "tasks already running or ended are left alone",
      { extract: "running", audit: "succeeded", report: "failed", notify: "cancelled" },
      { start: [], skip: [] },
    ],
  ];
  it.each(cases)("%s", (_name, statuses, expected) => {
    const step = nextDagStep(dag, (id) => statuses[id] ?? "queued");
    expect(step).toEqual({ start: expected.start, skip: expected.skip.map(([taskId, blocker]) => ({ taskId, blocker })) });
  });
});

describe("task results a DAG run resumes from", () => {
  const tasks = [t("b", "a"), t("a"), t("c", "b")];
  const attempt = { number: 1, startedAt: 1, finishedAt: 2, statusCode: 200, error: "", responseExcerpt: "ok", durationMs: 1 };
  const result = (taskId: string, status: RunStatus): TaskResultRecord => ({
    taskId,
    status,
    attempts: [attempt],
    startedAt: 1,
    finishedAt: 2,
    error: status === "succeeded" ? "" : "boom",
  });
  const queued = (taskId: string): TaskResultRecord => ({ taskId, status: "queued", attempts: [], error: "" });

  it("starts every task queued, in dependency order, when nothing ran before", () => {
    expect(resumeTaskResults(tasks, [])).toEqual([queued("a"), queued("b"), queued("c")]);
  });

  it("keeps a succeeded task's result as it is, attempts included, and queues the failed and skipped ones again", () => {
    const previous = [result("a", "succeeded"), result("b", "failed"), result("c", "skipped")];
    const resumed = resumeTaskResults(tasks, previous);
    expect(resumed).toEqual([previous[0], queued("b"), queued("c")]);
    expect(resumed[0]).toBe(previous[0]);
  });

  it("runs again a task that was running or cancelled when its run stopped", () => {
    expect(resumeTaskResults(tasks, [result("a", "succeeded"), result("b", "running"), result("c", "cancelled")])).toEqual([
      result("a", "succeeded"),
      queued("b"),
      queued("c"),
    ]);
  });

  it("drops results of tasks no longer in the spec", () => {
    expect(resumeTaskResults([t("a")], [result("gone", "succeeded"), result("a", "succeeded")])).toEqual([result("a", "succeeded")]);
  });

  it("has no task results for a job without tasks", () => {
    expect(resumeTaskResults([], [result("a", "succeeded")])).toEqual([]);
  });
});
