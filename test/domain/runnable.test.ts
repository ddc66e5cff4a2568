import { describe, expect, it } from "vitest";
import { CronError } from "../../src/domain/cron-error.js";
import type { JobSpec, TaskSpec } from "../../src/domain/job.js";
import { checkRunnable, normalizeSpec } from "../../src/domain/job-validation.js";
import { createOutboundPolicy, parseOutboundList } from "../../src/domain/outbound-policy.js";
import { makeSpec } from "../support/fixtures.js";

const outbound = createOutboundPolicy({ deny: [], allow: parseOutboundList("127.0.0.1/32") });
const task = (taskId: string, extra: Partial<TaskSpec> = {}): TaskSpec => ({ taskId, name: "", dependsOn: [], handler: "", ...extra });
const refusal = (spec: JobSpec) => {
  try {
    checkRunnable({ jobId: "job_1", spec });
  } catch (err) {
    return err instanceof CronError ? [err.code, err.field] : err;
  }
  return "runnable";
};

describe("checkRunnable: a job is refused when run, naming what has nothing to call", () => {
  it.each<[string, Partial<JobSpec>, unknown]>([
    ["a target", { tasks: [] }, "runnable"],
    ["a handler", { target: undefined, handler: "h", tasks: [] }, "runnable"],
    [
      "tasks with a target or a handler each",
      { target: undefined, tasks: [task("a", { handler: "h" }), task("b", { target: makeSpec().target })] },
      "runnable",
    ],
    ["nothing at all", { target: undefined, tasks: [] }, ["failed_precondition", "target"]],
    ["a task with neither, named by its place", { tasks: [task("a", { handler: "h" }), task("b")] }, ["failed_precondition", "tasks[1].target"]],
  ])("%s", (_name, spec, expected) => {
    expect(refusal(makeSpec(spec))).toEqual(expected);
  });
});

describe("normalizeSpec: what a job may lack while it is being built", () => {
  it.each<[string, Partial<JobSpec>, string | undefined]>([
    ["a hand-run job with nothing to call yet", { schedule: "", target: undefined, tasks: [] }, undefined],
    ["tasks with neither target nor handler", { schedule: "", target: undefined, tasks: [task("a"), task("b", { dependsOn: ["a"] })] }, undefined],
    ["a scheduled job with nothing to call", { target: undefined, tasks: [] }, "target"],
    ["both schedule and run_at", { runAt: Date.parse("2030-01-01T00:00:00Z") }, "schedule"],
  ])("%s", (_name, spec, field) => {
    const run = () => normalizeSpec(makeSpec(spec), outbound);
    if (field === undefined) expect(run).not.toThrow();
    else expect(run).toThrow(expect.objectContaining({ code: "invalid_argument", field }));
  });
});
