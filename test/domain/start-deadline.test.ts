import { describe, expect, it } from "vitest";
import type { MisfirePolicy } from "../../src/domain/job.js";
import type { RunTrigger } from "../../src/domain/run.js";
import { decideStart, MIN_START_DEADLINE_MS, slotStartDeadline, surelyOnTime, type StartInput } from "../../src/domain/start-deadline.js";

const at = (s: string) => Date.parse(s);
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** The anchor slot of every case: noon, due at noon (no jitter). */
const NOON = "2026-03-01T12:00:00.000Z";

interface Case {
  name: string;
  /** The run: trigger, its job's policy, and its due time when not the slot. */
  run: { trigger: RunTrigger; policy: MisfirePolicy; dueAt?: string };
  /** Environment: when it would start, its deadline, the catch-up window and the job's next slot. */
  env: { at: string; deadlineMs: number; catchupWindowMs?: number; nextSlot?: string };
  expect: "start" | "start late" | "skip";
}

const every = (deadlineMs: number, next: string) => ({ deadlineMs, nextSlot: next });

const cases: Case[] = [
  // On time, whatever the policy.
  {
    name: "skip: started at its due time starts",
    run: { trigger: "schedule", policy: "skip" },
    env: { at: NOON, ...every(SECOND, "2026-03-01T12:00:01Z") },
    expect: "start",
  },
  {
    name: "skip: started exactly at its deadline still starts",
    run: { trigger: "schedule", policy: "skip" },
    env: { at: "2026-03-01T12:00:01Z", ...every(SECOND, "2026-03-01T12:00:01Z") },
    expect: "start",
  },
  {
    name: "fire_once: on time starts, not late",
    run: { trigger: "schedule", policy: "fire_once" },
    env: { at: "2026-03-01T12:00:00.900Z", ...every(SECOND, "2026-03-01T12:00:01Z") },
    expect: "start",
  },
  {
    name: "catch_up: on time starts, not late",
    run: { trigger: "schedule", policy: "catch_up" },
    env: { at: "2026-03-01T12:00:30Z", ...every(MINUTE, "2026-03-01T12:01:00Z") },
    expect: "start",
  },
  // Overdue under skip.
  {
    name: "skip: a millisecond past its deadline is skipped",
    run: { trigger: "schedule", policy: "skip" },
    env: { at: "2026-03-01T12:00:01.001Z", ...every(SECOND, "2026-03-01T12:00:01Z") },
    expect: "skip",
  },
  {
    name: "skip: an every-minute run a minute late is skipped",
    run: { trigger: "schedule", policy: "skip" },
    env: { at: "2026-03-01T12:01:00.500Z", ...every(MINUTE, "2026-03-01T12:01:00Z") },
    expect: "skip",
  },
  {
    name: "skip: a catch-up run past its deadline is skipped too",
    run: { trigger: "catch_up", policy: "skip" },
    env: { at: "2026-03-01T12:00:05Z", ...every(SECOND, "2026-03-01T12:00:01Z") },
    expect: "skip",
  },
  // Overdue under fire_once: only the newest due slot runs.
  {
    name: "fire_once: overdue with a newer slot due is skipped",
    run: { trigger: "schedule", policy: "fire_once" },
    env: { at: "2026-03-01T12:00:01.500Z", ...every(SECOND, "2026-03-01T12:00:01Z") },
    expect: "skip",
  },
  {
    name: "fire_once: overdue while the next slot is due this very instant is skipped",
    run: { trigger: "schedule", policy: "fire_once" },
    env: { at: "2026-03-01T12:00:05Z", deadlineMs: 2 * SECOND, nextSlot: "2026-03-01T12:00:05Z" },
    expect: "skip",
  },
  {
    name: "fire_once: overdue as the newest due slot starts late",
    run: { trigger: "schedule", policy: "fire_once" },
    env: { at: "2026-03-01T12:00:30Z", deadlineMs: 10 * SECOND, nextSlot: "2026-03-01T12:01:00Z" },
    expect: "start late",
  },
  {
    name: "fire_once: overdue one-shot (no next slot) starts late",
    run: { trigger: "schedule", policy: "fire_once" },
    env: { at: "2026-03-01T13:30:00Z", deadlineMs: HOUR },
    expect: "start late",
  },
  {
    name: "fire_once: the catch-up run of the latest missed slot starts late",
    run: { trigger: "catch_up", policy: "fire_once" },
    env: { at: "2026-03-01T12:00:40Z", ...every(10 * SECOND, "2026-03-01T12:01:00Z") },
    expect: "start late",
  },
  // Overdue under catch_up: inside the window it runs.
  {
    name: "catch_up: overdue inside the catch-up window starts late",
    run: { trigger: "schedule", policy: "catch_up" },
    env: { at: "2026-03-01T12:00:10Z", catchupWindowMs: MINUTE, ...every(SECOND, "2026-03-01T12:00:01Z") },
    expect: "start late",
  },
  {
    name: "catch_up: overdue exactly at the window's edge starts late",
    run: { trigger: "schedule", policy: "catch_up" },
    env: { at: "2026-03-01T12:01:00Z", catchupWindowMs: MINUTE, ...every(SECOND, "2026-03-01T12:00:01Z") },
    expect: "start late",
  },
  {
    name: "catch_up: older than the catch-up window is skipped",
    run: { trigger: "schedule", policy: "catch_up" },
    env: { at: "2026-03-01T12:01:00.001Z", catchupWindowMs: MINUTE, ...every(SECOND, "2026-03-01T12:00:01Z") },
    expect: "skip",
  },
  {
    name: "catch_up: the window counts from the slot, not its jittered due time",
    run: { trigger: "schedule", policy: "catch_up", dueAt: "2026-03-01T12:00:20Z" },
    env: { at: "2026-03-01T12:01:05Z", catchupWindowMs: MINUTE, ...every(SECOND, "2026-03-01T12:00:01Z") },
    expect: "skip",
  },
  // Jitter: the deadline counts from the due time.
  {
    name: "skip: a jittered run is on time until its due time plus the deadline",
    run: { trigger: "schedule", policy: "skip", dueAt: "2026-03-01T12:00:20Z" },
    env: { at: "2026-03-01T12:00:50Z", ...every(MINUTE, "2026-03-01T12:01:00Z") },
    expect: "start",
  },
  // Manual kinds: their own deadline, then skipped whatever the policy.
  {
    name: "manual: within the manual deadline starts",
    run: { trigger: "manual", policy: "catch_up" },
    env: { at: "2026-03-01T12:00:59Z", deadlineMs: MINUTE },
    expect: "start",
  },
  {
    name: "manual: past the manual deadline is skipped, even under catch_up",
    run: { trigger: "manual", policy: "catch_up" },
    env: { at: "2026-03-01T12:01:00.001Z", deadlineMs: MINUTE, catchupWindowMs: HOUR },
    expect: "skip",
  },
  {
    name: "replay: past the manual deadline is skipped, even under fire_once",
    run: { trigger: "replay", policy: "fire_once" },
    env: { at: "2026-03-01T12:02:00Z", deadlineMs: MINUTE },
    expect: "skip",
  },
  {
    name: "redrive: past the manual deadline is skipped",
    run: { trigger: "redrive", policy: "skip" },
    env: { at: "2026-03-01T12:05:00Z", deadlineMs: MINUTE },
    expect: "skip",
  },
  // Backfill: late on purpose.
  {
    name: "backfill: an hour after its creation still starts",
    run: { trigger: "backfill", policy: "skip" },
    env: { at: "2026-03-01T13:00:00Z", deadlineMs: MINUTE },
    expect: "start",
  },
];

describe("decideStart: what becomes of a run about to start", () => {
  it.each(cases)("$name", ({ run, env, expect: want }) => {
    const input: StartInput = {
      trigger: run.trigger,
      policy: run.policy,
      scheduledAt: at(NOON),
      dueAt: at(run.dueAt ?? NOON),
      at: at(env.at),
      deadlineMs: env.deadlineMs,
      catchupWindowMs: env.catchupWindowMs ?? HOUR,
      nextSlot: env.nextSlot === undefined ? undefined : at(env.nextSlot),
    };
    const decision = decideStart(input);
    const got = decision.action === "skip" ? "skip" : decision.late ? "start late" : "start";
    expect(got).toBe(want);
    if (decision.action === "skip") expect(decision.reason).toMatch(/^overload: not started within its start deadline of \d/);
  });

  it("says in the reason which deadline passed", () => {
    const base: StartInput = {
      trigger: "schedule",
      policy: "skip",
      scheduledAt: 0,
      dueAt: 0,
      at: 100_000,
      deadlineMs: 90_500,
      catchupWindowMs: HOUR,
      nextSlot: undefined,
    };
    expect(decideStart(base)).toEqual({ action: "skip", reason: "overload: not started within its start deadline of 1m30s500ms" });
    expect(decideStart({ ...base, trigger: "manual", deadlineMs: MINUTE })).toEqual({
      action: "skip",
      reason: "overload: not started within its start deadline of 1m",
    });
  });
});

describe("slotStartDeadline: a slot's deadline", () => {
  const cases: [string, { startDeadlineMs?: number; catchupWindowMs: number }, number, number | undefined, number][] = [
    ["every second: the interval", { catchupWindowMs: HOUR }, at(NOON), at(NOON) + SECOND, SECOND],
    ["every minute: the interval", { catchupWindowMs: HOUR }, at(NOON), at(NOON) + MINUTE, MINUTE],
    ["daily: the catch-up window, smaller than the interval", { catchupWindowMs: HOUR }, at(NOON), at(NOON) + 24 * HOUR, HOUR],
    ["a one-shot job: the catch-up window", { catchupWindowMs: 10 * MINUTE }, at(NOON), undefined, 10 * MINUTE],
    ["an explicit deadline wins over the interval", { startDeadlineMs: 5 * SECOND, catchupWindowMs: HOUR }, at(NOON), at(NOON) + MINUTE, 5 * SECOND],
    ["an explicit deadline may exceed the interval", { startDeadlineMs: 5 * MINUTE, catchupWindowMs: HOUR }, at(NOON), at(NOON) + MINUTE, 5 * MINUTE],
    ["a catch-up window under a second still gives a second", { catchupWindowMs: 200 }, at(NOON), at(NOON) + MINUTE, SECOND],
  ];
  it.each(cases)("%s", (_name, spec, slot, next, want) => {
    expect(slotStartDeadline(spec, slot, next)).toBe(want);
  });

  it("is never under the minimum, which is what makes a start within a second surely on time", () => {
    expect(MIN_START_DEADLINE_MS).toBe(SECOND);
    expect(surelyOnTime(at(NOON), at(NOON) + SECOND)).toBe(true);
    expect(surelyOnTime(at(NOON), at(NOON) + SECOND + 1)).toBe(false);
    expect(surelyOnTime(at(NOON), at(NOON) - 5000)).toBe(true);
  });
});
