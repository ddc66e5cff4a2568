import { describe, expect, it } from "vitest";
import type { JobSpec } from "../../src/domain/job.js";
import { MAX_SLOTS_WALKED, resolveMisfire, type MisfireDecision } from "../../src/domain/misfire.js";
import { makeSpec } from "../support/fixtures.js";

const at = (s: string) => Date.parse(s);
const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The anchor of every case: noon. */
const NOON = "2026-03-01T12:00:00.000Z";
/** Every ten minutes, in UTC, skipping missed slots: overridden per case. */
const EVERY_TEN: Partial<JobSpec> = { schedule: "*/10 * * * *", timezone: "UTC", misfirePolicy: "skip", catchupWindowMs: HOUR };

interface Case {
  name: string;
  spec: Partial<JobSpec>;
  /** Environment: the stored slot and the time of the decision; grace and cap default to 2 s and 100. */
  env: { nextTriggerAt: string; now: string; graceMs?: number; maxCatchUp?: number };
  expect: { fire: string[]; skipped: number; dropped: number; next: string | undefined };
}

/** Fired slots written as `ISO schedule` or `ISO catch_up`. */
const fired = (d: MisfireDecision) => d.fire.map((f) => `${iso(f.slot)} ${f.trigger}`);

const cases: Case[] = [
  {
    name: "an on-time slot fires as scheduled",
    spec: EVERY_TEN,
    env: { nextTriggerAt: "2026-03-01T12:00:00Z", now: NOON },
    expect: { fire: ["2026-03-01T12:00:00.000Z schedule"], skipped: 0, dropped: 0, next: "2026-03-01T12:10:00.000Z" },
  },
  {
    name: "a slot late by less than the grace still fires as scheduled",
    spec: EVERY_TEN,
    env: { nextTriggerAt: "2026-03-01T12:00:00Z", now: "2026-03-01T12:00:01.500Z" },
    expect: { fire: ["2026-03-01T12:00:00.000Z schedule"], skipped: 0, dropped: 0, next: "2026-03-01T12:10:00.000Z" },
  },
  {
    name: "a slot late by exactly the grace is still on time",
    spec: EVERY_TEN,
    env: { nextTriggerAt: "2026-03-01T12:00:00Z", now: "2026-03-01T12:00:02Z" },
    expect: { fire: ["2026-03-01T12:00:00.000Z schedule"], skipped: 0, dropped: 0, next: "2026-03-01T12:10:00.000Z" },
  },
  {
    name: "a slot not yet due fires nothing and stays next",
    spec: EVERY_TEN,
    env: { nextTriggerAt: "2026-03-01T12:10:00Z", now: NOON },
    expect: { fire: [], skipped: 0, dropped: 0, next: "2026-03-01T12:10:00.000Z" },
  },
  {
    name: "skip: a slot missed by more than the grace is skipped",
    spec: EVERY_TEN,
    env: { nextTriggerAt: "2026-03-01T12:00:00Z", now: "2026-03-01T12:05:00Z" },
    expect: { fire: [], skipped: 1, dropped: 0, next: "2026-03-01T12:10:00.000Z" },
  },
  {
    name: "skip: an hour down skips every missed slot and fires the one on time",
    spec: EVERY_TEN,
    env: { nextTriggerAt: "2026-03-01T11:00:00Z", now: NOON },
    expect: { fire: ["2026-03-01T12:00:00.000Z schedule"], skipped: 6, dropped: 0, next: "2026-03-01T12:10:00.000Z" },
  },
  {
    name: "fire_once: only the latest missed slot fires",
    spec: { ...EVERY_TEN, misfirePolicy: "fire_once" },
    env: { nextTriggerAt: "2026-03-01T11:00:00Z", now: "2026-03-01T12:05:00Z" },
    expect: { fire: ["2026-03-01T12:00:00.000Z catch_up"], skipped: 6, dropped: 0, next: "2026-03-01T12:10:00.000Z" },
  },
  {
    name: "fire_once: a slot on time is the one run, and every missed slot is skipped",
    spec: { ...EVERY_TEN, misfirePolicy: "fire_once" },
    env: { nextTriggerAt: "2026-03-01T11:00:00Z", now: NOON },
    expect: {
      fire: ["2026-03-01T12:00:00.000Z schedule"],
      skipped: 6,
      dropped: 0,
      next: "2026-03-01T12:10:00.000Z",
    },
  },
  {
    name: "catch_up: every missed slot inside the window fires, oldest first; older ones are skipped",
    spec: { ...EVERY_TEN, misfirePolicy: "catch_up", catchupWindowMs: 30 * MINUTE },
    env: { nextTriggerAt: "2026-03-01T11:00:00Z", now: "2026-03-01T12:05:00Z" },
    expect: {
      fire: ["2026-03-01T11:40:00.000Z catch_up", "2026-03-01T11:50:00.000Z catch_up", "2026-03-01T12:00:00.000Z catch_up"],
      skipped: 4,
      dropped: 0,
      next: "2026-03-01T12:10:00.000Z",
    },
  },
  {
    name: "catch_up: a slot exactly at the window's edge is inside it",
    spec: { ...EVERY_TEN, misfirePolicy: "catch_up", catchupWindowMs: 30 * MINUTE },
    env: { nextTriggerAt: "2026-03-01T11:30:00Z", now: "2026-03-01T12:00:00Z" },
    expect: {
      fire: [
        "2026-03-01T11:30:00.000Z catch_up",
        "2026-03-01T11:40:00.000Z catch_up",
        "2026-03-01T11:50:00.000Z catch_up",
        "2026-03-01T12:00:00.000Z schedule",
      ],
      skipped: 0,
      dropped: 0,
      next: "2026-03-01T12:10:00.000Z",
    },
  },
  {
    name: "catch_up: the cap keeps the most recent missed slots and drops the older ones",
    spec: { ...EVERY_TEN, misfirePolicy: "catch_up" },
    env: { nextTriggerAt: "2026-03-01T11:10:00Z", now: "2026-03-01T12:05:00Z", maxCatchUp: 2 },
    expect: { fire: ["2026-03-01T11:50:00.000Z catch_up", "2026-03-01T12:00:00.000Z catch_up"], skipped: 0, dropped: 4, next: "2026-03-01T12:10:00.000Z" },
  },
  {
    name: "catch_up: a zero window skips every missed slot",
    spec: { ...EVERY_TEN, misfirePolicy: "catch_up", catchupWindowMs: 0 },
    env: { nextTriggerAt: "2026-03-01T11:00:00Z", now: "2026-03-01T12:05:00Z" },
    expect: { fire: [], skipped: 7, dropped: 0, next: "2026-03-01T12:10:00.000Z" },
  },
  {
    name: "start_at: slots before it are not due",
    spec: { ...EVERY_TEN, startAt: at("2026-03-01T11:45:00Z") },
    env: { nextTriggerAt: "2026-03-01T11:00:00Z", now: NOON },
    expect: { fire: ["2026-03-01T12:00:00.000Z schedule"], skipped: 1, dropped: 0, next: "2026-03-01T12:10:00.000Z" },
  },
  {
    name: "end_at: slots after it are not due and nothing comes next",
    spec: { ...EVERY_TEN, endAt: at("2026-03-01T11:35:00Z") },
    env: { nextTriggerAt: "2026-03-01T11:00:00Z", now: NOON },
    expect: { fire: [], skipped: 4, dropped: 0, next: undefined },
  },
  {
    name: "end_at: a slot exactly at end_at is due",
    spec: { ...EVERY_TEN, misfirePolicy: "catch_up", endAt: at("2026-03-01T11:50:00Z") },
    env: { nextTriggerAt: "2026-03-01T11:40:00Z", now: NOON },
    expect: { fire: ["2026-03-01T11:40:00.000Z catch_up", "2026-03-01T11:50:00.000Z catch_up"], skipped: 0, dropped: 0, next: undefined },
  },
  {
    name: "one-shot: run_at on time fires as scheduled and nothing comes next",
    spec: { schedule: "", runAt: at("2026-03-01T11:59:59Z"), misfirePolicy: "skip" },
    env: { nextTriggerAt: "2026-03-01T11:59:59Z", now: NOON },
    expect: { fire: ["2026-03-01T11:59:59.000Z schedule"], skipped: 0, dropped: 0, next: undefined },
  },
  {
    name: "one-shot: a missed run_at is skipped under skip",
    spec: { schedule: "", runAt: at("2026-03-01T11:00:00Z"), misfirePolicy: "skip" },
    env: { nextTriggerAt: "2026-03-01T11:00:00Z", now: NOON },
    expect: { fire: [], skipped: 1, dropped: 0, next: undefined },
  },
  {
    name: "one-shot: a missed run_at fires under fire_once, however old",
    spec: { schedule: "", runAt: at("2026-02-01T11:00:00Z"), misfirePolicy: "fire_once" },
    env: { nextTriggerAt: "2026-02-01T11:00:00Z", now: NOON },
    expect: { fire: ["2026-02-01T11:00:00.000Z catch_up"], skipped: 0, dropped: 0, next: undefined },
  },
  {
    name: "one-shot: a missed run_at inside the window fires under catch_up",
    spec: { schedule: "", runAt: at("2026-03-01T11:30:00Z"), misfirePolicy: "catch_up", catchupWindowMs: HOUR },
    env: { nextTriggerAt: "2026-03-01T11:30:00Z", now: NOON },
    expect: { fire: ["2026-03-01T11:30:00.000Z catch_up"], skipped: 0, dropped: 0, next: undefined },
  },
  {
    name: "one-shot: a missed run_at older than the window is skipped under catch_up",
    spec: { schedule: "", runAt: at("2026-03-01T10:30:00Z"), misfirePolicy: "catch_up", catchupWindowMs: HOUR },
    env: { nextTriggerAt: "2026-03-01T10:30:00Z", now: NOON },
    expect: { fire: [], skipped: 1, dropped: 0, next: undefined },
  },
  {
    name: "catch_up across the spring-forward gap fires the collapsed slot once",
    spec: { schedule: "15,45 2 * * *", timezone: "America/New_York", misfirePolicy: "catch_up", catchupWindowMs: DAY },
    env: { nextTriggerAt: "2026-03-08T07:00:00Z", now: "2026-03-08T09:00:00Z" },
    expect: { fire: ["2026-03-08T07:00:00.000Z catch_up"], skipped: 0, dropped: 0, next: "2026-03-09T06:15:00.000Z" },
  },
  {
    name: "catch_up across the fall-back hour fires the repeated hour of an hourly job twice",
    spec: { schedule: "0 * * * *", timezone: "America/New_York", misfirePolicy: "catch_up", catchupWindowMs: DAY },
    env: { nextTriggerAt: "2026-11-01T05:00:00Z", now: "2026-11-01T07:30:00Z" },
    expect: {
      fire: ["2026-11-01T05:00:00.000Z catch_up", "2026-11-01T06:00:00.000Z catch_up", "2026-11-01T07:00:00.000Z catch_up"],
      skipped: 0,
      dropped: 0,
      next: "2026-11-01T08:00:00.000Z",
    },
  },
  {
    name: "a stored slot that is not a slot of the schedule still counts as due",
    spec: { ...EVERY_TEN, misfirePolicy: "catch_up" },
    env: { nextTriggerAt: "2026-03-01T11:55:00Z", now: "2026-03-01T12:05:00Z" },
    expect: { fire: ["2026-03-01T11:55:00.000Z catch_up", "2026-03-01T12:00:00.000Z catch_up"], skipped: 0, dropped: 0, next: "2026-03-01T12:10:00.000Z" },
  },
];

describe("misfire policy", () => {
  it.each(cases)("$name", ({ spec, env, expect: want }) => {
    const decision = resolveMisfire({
      spec: makeSpec(spec),
      nextTriggerAt: at(env.nextTriggerAt),
      now: at(env.now),
      graceMs: env.graceMs ?? 2000,
      maxCatchUp: env.maxCatchUp ?? 100,
    });
    expect({ fire: fired(decision), skipped: decision.skipped, dropped: decision.dropped, next: iso(decision.next) }).toEqual(want);
  });
});

describe("misfire policy after long downtime", () => {
  const now = at(NOON);
  const weekAgo = now - 7 * DAY;
  const everySecond = (policy: JobSpec["misfirePolicy"]) =>
    makeSpec({ schedule: "* * * * * *", timezone: "UTC", misfirePolicy: policy, catchupWindowMs: HOUR });
  /** A week of seconds, less the three slots on time (now − 2 s, now − 1 s, now). */
  const missedInWeek = 7 * 86_400 - 2;
  /** An hour of seconds before the grace, less the two on-time slots inside it. */
  const missedInHour = 3600 - 2;

  it("skip: an every-second job down for a week counts its missed slots without walking them", () => {
    const started = performance.now();
    const d = resolveMisfire({ spec: everySecond("skip"), nextTriggerAt: weekAgo, now, graceMs: 2000, maxCatchUp: 100 });
    expect(performance.now() - started).toBeLessThan(1000);
    expect({ fire: d.fire.length, skipped: d.skipped, dropped: d.dropped, next: iso(d.next) }).toEqual({
      fire: 3,
      skipped: missedInWeek,
      dropped: 0,
      next: "2026-03-01T12:00:01.000Z",
    });
  });

  it("catch_up: fires the most recent hundred slots of the window, drops the rest of it and skips the week before", () => {
    const d = resolveMisfire({ spec: everySecond("catch_up"), nextTriggerAt: weekAgo, now, graceMs: 2000, maxCatchUp: 100 });
    const catchUp = d.fire.filter((f) => f.trigger === "catch_up");
    expect(catchUp).toHaveLength(MAX_SLOTS_WALKED);
    expect(iso(catchUp[0]!.slot)).toBe("2026-03-01T11:58:18.000Z");
    expect(iso(catchUp.at(-1)!.slot)).toBe("2026-03-01T11:59:57.000Z");
    expect({ skipped: d.skipped, dropped: d.dropped }).toEqual({ skipped: missedInWeek - missedInHour, dropped: missedInHour - 100 });
  });

  it("a grace wider than the walk limit fires the latest hundred on-time slots and drops the rest", () => {
    const d = resolveMisfire({ spec: everySecond("skip"), nextTriggerAt: now - 200_000, now, graceMs: 200_000, maxCatchUp: 100 });
    expect({ fire: d.fire.length, first: iso(d.fire[0]?.slot), skipped: d.skipped, dropped: d.dropped }).toEqual({
      fire: MAX_SLOTS_WALKED,
      first: "2026-03-01T11:58:21.000Z",
      skipped: 0,
      dropped: 101,
    });
  });

  it("a cap above the walk limit still fires at most the walk limit", () => {
    const d = resolveMisfire({ spec: everySecond("catch_up"), nextTriggerAt: weekAgo, now, graceMs: 2000, maxCatchUp: 10_000 });
    expect(d.fire.filter((f) => f.trigger === "catch_up")).toHaveLength(MAX_SLOTS_WALKED);
  });

  it("fire_once: an unevenly spaced schedule gets an estimate close to the exact count", () => {
    const spec = makeSpec({ schedule: "0 9-17 * * 1-5", timezone: "Europe/Belgrade", misfirePolicy: "fire_once" });
    const d = resolveMisfire({ spec, nextTriggerAt: at("2025-03-03T08:00:00Z"), now, graceMs: 2000, maxCatchUp: 100 });
    // Exact: 9 slots a weekday from 2025-03-03 to 2026-02-27, 52 weeks = 260 weekdays = 2340, one fired.
    expect(d.fire).toHaveLength(1);
    expect(Math.abs(d.skipped - 2339)).toBeLessThan(2339 * 0.05);
  });
});
