import { describe, expect, it } from "vitest";
import { CronError } from "../../src/domain/cron-error.js";
import type { JobSpec, JobStatus } from "../../src/domain/job.js";
import { decideLifecycle, initialState, type LifecycleInput, type LifecycleOutcome } from "../../src/domain/lifecycle.js";
import { makeSpec } from "../support/fixtures.js";

const NOW = Date.parse("2026-06-01T12:00:00Z");
const hourly = makeSpec({ schedule: "0 * * * *", timezone: "UTC" });
const NEXT_HOUR = Date.parse("2026-06-01T13:00:00Z");
const ended = { ...hourly, endAt: NOW - 60_000 };
const oneShot = (at: number): JobSpec => ({ ...hourly, schedule: "", runAt: at });
const handRun: JobSpec = { ...hourly, schedule: "" };

function job(status: JobStatus, spec: JobSpec, nextTriggerAt: number | undefined): LifecycleInput {
  return { jobId: "job_1", status, spec, nextTriggerAt };
}

describe("initialState", () => {
  it.each<[string, JobSpec, boolean, LifecycleOutcome]>([
    ["a recurring job starts active at its next slot", hourly, true, { status: "active", nextTriggerAt: NEXT_HOUR }],
    ["enabled false starts it paused", hourly, false, { status: "paused", nextTriggerAt: NEXT_HOUR }],
    ["an end_at already past completes it at once", ended, true, { status: "completed", nextTriggerAt: undefined }],
    ["a one-shot in the past keeps its slot (the misfire policy decides)", oneShot(NOW - 1000), true, { status: "active", nextTriggerAt: NOW - 1000 }],
    ["a hand-run job (no schedule, no run_at) starts active with no slot", handRun, true, { status: "active", nextTriggerAt: undefined }],
    ["a hand-run job starts paused when asked", handRun, false, { status: "paused", nextTriggerAt: undefined }],
  ])("%s", (_name, spec, enabled, expected) => {
    expect(initialState(spec, enabled, NOW)).toEqual(expected);
  });
});

describe("decideLifecycle", () => {
  it.each<[string, LifecycleInput, JobSpec, JobStatus | undefined, LifecycleOutcome]>([
    [
      "an edit of an active job keeps its status and slot",
      job("active", hourly, 123),
      { ...hourly, description: "x" },
      undefined,
      { status: "active", nextTriggerAt: 123 },
    ],
    [
      "a new schedule recomputes the slot",
      job("active", hourly, 123),
      { ...hourly, schedule: "30 * * * *" },
      undefined,
      { status: "active", nextTriggerAt: NOW + 30 * 60_000 },
    ],
    ["pausing keeps the slot it would fire at", job("active", hourly, 123), hourly, "paused", { status: "paused", nextTriggerAt: 123 }],
    ["resuming recomputes the slot from now", job("paused", hourly, NOW - 3_600_000), hourly, "active", { status: "active", nextTriggerAt: NEXT_HOUR }],
    [
      "an end_at moved into the past completes an active job",
      job("active", hourly, NEXT_HOUR),
      ended,
      undefined,
      { status: "completed", nextTriggerAt: undefined },
    ],
    ["cancelling stops the job for good", job("active", hourly, NEXT_HOUR), hourly, "cancelled", { status: "cancelled", nextTriggerAt: undefined }],
    [
      "a new run_at re-activates a completed one-shot",
      job("completed", oneShot(NOW - 5000), undefined),
      oneShot(NOW + 5000),
      undefined,
      { status: "active", nextTriggerAt: NOW + 5000 },
    ],
    [
      "a new schedule re-activates a completed job paused when asked",
      job("completed", ended, undefined),
      hourly,
      "paused",
      { status: "paused", nextTriggerAt: NEXT_HOUR },
    ],
    [
      "a hand-run job resumed stays without a slot, never completed",
      job("paused", handRun, undefined),
      handRun,
      "active",
      { status: "active", nextTriggerAt: undefined },
    ],
    ["a schedule removed makes an active job hand-run", job("active", hourly, NEXT_HOUR), handRun, undefined, { status: "active", nextTriggerAt: undefined }],
    [
      "a schedule given to a hand-run job sets its first slot",
      job("active", handRun, undefined),
      hourly,
      undefined,
      { status: "active", nextTriggerAt: NEXT_HOUR },
    ],
    [
      "a completed one-shot whose run_at is removed comes back hand-run",
      job("completed", oneShot(NOW - 5000), undefined),
      handRun,
      undefined,
      { status: "active", nextTriggerAt: undefined },
    ],
    [
      "other edits of a completed job keep it completed",
      job("completed", oneShot(NOW - 5000), undefined),
      { ...oneShot(NOW - 5000), description: "x" },
      undefined,
      { status: "completed", nextTriggerAt: undefined },
    ],
  ])("%s", (_name, current, spec, requested, expected) => {
    expect(decideLifecycle(current, spec, requested, NOW)).toEqual(expected);
  });

  it.each<[string, LifecycleInput, JobSpec, JobStatus | undefined, RegExp]>([
    [
      "enabling a completed job without new timing fails",
      job("completed", oneShot(NOW - 5000), undefined),
      oneShot(NOW - 5000),
      "active",
      /completed: give it a new run_at or schedule/,
    ],
    ["pausing a completed job fails", job("completed", oneShot(NOW - 5000), undefined), oneShot(NOW - 5000), "paused", /completed/],
    ["enabling with timing that leaves no slot fails", job("completed", ended, undefined), { ...ended, schedule: "15 * * * *" }, "active", /leaves no slot/],
    ["a cancelled job never changes", job("cancelled", hourly, undefined), { ...hourly, description: "x" }, undefined, /cancelled and never changes/],
  ])("%s", (_name, current, spec, requested, message) => {
    let thrown: unknown;
    try {
      decideLifecycle(current, spec, requested, NOW);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(CronError);
    expect((thrown as CronError).code).toBe("failed_precondition");
    expect((thrown as CronError).message).toMatch(message);
  });
});
