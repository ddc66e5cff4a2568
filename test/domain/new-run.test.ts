import { describe, expect, it } from "vitest";
import { newRun, skippedRun, SKIPPED_BY_FORBID, type NewRunInput } from "../../src/domain/run.js";

const job = { jobId: "j1", version: 7, spec: { name: "nightly", projectId: "p1" } };
const base: NewRunInput = { runId: "r1", job, slotKey: "1000", scheduledAt: 1000, dueAt: 1040, trigger: "schedule", nodeId: "n1", now: 900 };

describe("newRun: the one shape of every new run", () => {
  it("is queued, of the job's current version, with its name and project, and empty otherwise", () => {
    expect(newRun(base)).toEqual({
      runId: "r1",
      jobId: "j1",
      jobName: "nightly",
      jobVersion: 7,
      projectId: "p1",
      slotKey: "1000",
      scheduledAt: 1000,
      dueAt: 1040,
      trigger: "schedule",
      status: "queued",
      attempts: [],
      result: "",
      error: "",
      nodeId: "n1",
      traceId: "",
      replayOf: "",
      redriveOf: "",
      taskResults: [],
      createdAt: 900,
      updatedAt: 900,
      revision: 1,
    });
  });

  it.each([
    [
      "a replay keeps the version it replays and links it",
      { trigger: "replay", jobVersion: 3, replayOf: "r0" },
      { jobVersion: 3, replayOf: "r0", redriveOf: "" },
    ],
    [
      "a DAG redrive carries the tasks that succeeded",
      { trigger: "redrive", redriveOf: "r0", taskResults: [{ taskId: "a", status: "succeeded", attempts: [] }] },
      { redriveOf: "r0", taskResults: [{ taskId: "a", status: "succeeded", attempts: [] }] },
    ],
  ] as const)("%s", (_name, input, expected) => {
    expect(newRun({ ...base, ...input } as NewRunInput)).toMatchObject(expected);
  });

  it("skippedRun records a run blocked by forbid as final at once, with the one wording", () => {
    expect(skippedRun(newRun(base), 950)).toMatchObject({ status: "skipped", finishedAt: 950, result: SKIPPED_BY_FORBID, runId: "r1" });
  });
});
