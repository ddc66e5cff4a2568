import { describe, expect, it } from "vitest";
import type { JobSpec } from "../../src/domain/job.js";
import { loadJob, planFire } from "../../src/scheduler/fire-plan.js";
import { makeJob } from "../support/fixtures.js";

const at = (s: string) => Date.parse(s);
const iso = (t: number) => new Date(t).toISOString();
const NOON = "2026-03-01T12:00:00.000Z";

interface Case {
  name: string;
  spec: Partial<JobSpec>;
  /** The job's stored slot, when the loop fires it, and the wait its runs should expect for a worker. */
  env: { slot: string; now: string; waitMs: number; share?: number };
  expect: { fire: string[]; shed: number; skipped: number };
}

const EVERY_SECOND: Partial<JobSpec> = { schedule: "* * * * * *", timezone: "UTC", maxJitterMs: 0, catchupWindowMs: 3_600_000 };
const EVERY_MINUTE: Partial<JobSpec> = { schedule: "* * * * *", timezone: "UTC", maxJitterMs: 0, catchupWindowMs: 3_600_000 };

const cases: Case[] = [
  {
    name: "staged ahead with an empty queue: the slot fires",
    spec: { ...EVERY_SECOND, misfirePolicy: "skip" },
    env: { slot: NOON, now: "2026-03-01T11:59:59.900Z", waitMs: 0 },
    expect: { fire: [NOON], shed: 0, skipped: 0 },
  },
  {
    name: "skip: staged ahead behind a queue of 1.2 s, the every-second slot could not start in time: shed",
    spec: { ...EVERY_SECOND, misfirePolicy: "skip" },
    env: { slot: NOON, now: "2026-03-01T11:59:59.900Z", waitMs: 1200 },
    expect: { fire: [], shed: 1, skipped: 0 },
  },
  {
    name: "skip: an every-minute slot behind the same queue still starts within its minute: fires",
    spec: { ...EVERY_MINUTE, misfirePolicy: "skip" },
    env: { slot: NOON, now: "2026-03-01T11:59:59.900Z", waitMs: 1200 },
    expect: { fire: [NOON], shed: 0, skipped: 0 },
  },
  {
    name: "skip: fired 0.7 s late behind 0.5 s of queue: shed",
    spec: { ...EVERY_SECOND, misfirePolicy: "skip" },
    env: { slot: NOON, now: "2026-03-01T12:00:00.700Z", waitMs: 500 },
    expect: { fire: [], shed: 1, skipped: 0 },
  },
  {
    name: "skip: fired 0.6 s late with an empty queue, the every-second slot fires",
    spec: { ...EVERY_SECOND, misfirePolicy: "skip" },
    env: { slot: NOON, now: "2026-03-01T12:00:00.600Z", waitMs: 0 },
    expect: { fire: [NOON], shed: 0, skipped: 0 },
  },
  {
    name: "skip: the same while overloaded is shed: past half its deadline, the job's next slot is staged instead",
    spec: { ...EVERY_SECOND, misfirePolicy: "skip" },
    env: { slot: NOON, now: "2026-03-01T12:00:00.600Z", waitMs: 0, share: 0.5 },
    expect: { fire: [], shed: 1, skipped: 0 },
  },
  {
    name: "skip: while overloaded, staged ahead behind 0.4 s of queue, the slot fires",
    spec: { ...EVERY_SECOND, misfirePolicy: "skip" },
    env: { slot: NOON, now: "2026-03-01T11:59:59.900Z", waitMs: 400, share: 0.5 },
    expect: { fire: [NOON], shed: 0, skipped: 0 },
  },
  {
    name: "catch_up: while overloaded, a slot past half its deadline still fires (inside its window)",
    spec: { ...EVERY_SECOND, misfirePolicy: "catch_up" },
    env: { slot: NOON, now: "2026-03-01T12:00:00.600Z", waitMs: 300, share: 0.5 },
    expect: { fire: [NOON], shed: 0, skipped: 0 },
  },
  {
    name: "fire_once: fired 1.5 s late, the slot is shed and the newer on-time one fires",
    spec: { ...EVERY_SECOND, misfirePolicy: "fire_once" },
    env: { slot: NOON, now: "2026-03-01T12:00:01.500Z", waitMs: 0 },
    expect: { fire: ["2026-03-01T12:00:01.000Z"], shed: 1, skipped: 0 },
  },
  {
    name: "skip: fired 1.5 s late, the slot is shed and the newer on-time one fires",
    spec: { ...EVERY_SECOND, misfirePolicy: "skip" },
    env: { slot: NOON, now: "2026-03-01T12:00:01.500Z", waitMs: 0 },
    expect: { fire: ["2026-03-01T12:00:01.000Z"], shed: 1, skipped: 0 },
  },
  {
    name: "catch_up: fired 1.5 s late, both slots fire (the overdue one inside its window)",
    spec: { ...EVERY_SECOND, misfirePolicy: "catch_up" },
    env: { slot: NOON, now: "2026-03-01T12:00:01.500Z", waitMs: 0 },
    expect: { fire: [NOON, "2026-03-01T12:00:01.000Z"], shed: 0, skipped: 0 },
  },
  {
    name: "catch_up: slots older than a one-minute window are not fired behind a long queue",
    spec: { ...EVERY_MINUTE, misfirePolicy: "catch_up", catchupWindowMs: 60_000 },
    env: { slot: NOON, now: "2026-03-01T12:00:30Z", waitMs: 45_000 },
    expect: { fire: [], shed: 1, skipped: 0 },
  },
  {
    name: "fire_once: 3.2 s late, slots missed beyond the 2 s grace are skipped by the misfire policy, the overdue one inside it is shed, the newest fires",
    spec: { ...EVERY_SECOND, misfirePolicy: "fire_once" },
    env: { slot: NOON, now: "2026-03-01T12:00:03.200Z", waitMs: 0 },
    expect: { fire: ["2026-03-01T12:00:03.000Z"], shed: 1, skipped: 2 },
  },
  {
    name: "fire_once: an every-minute slot fired 30 s late with nothing newer due starts late: fires",
    spec: { ...EVERY_MINUTE, misfirePolicy: "fire_once", startDeadlineMs: 10_000 },
    env: { slot: NOON, now: "2026-03-01T12:00:30Z", waitMs: 0 },
    expect: { fire: [NOON], shed: 0, skipped: 0 },
  },
];

describe("planFire: what to stage for a due job, given the queue ahead of its runs", () => {
  it.each(cases)("$name", ({ spec, env, expect: want }) => {
    const loaded = loadJob(makeJob("j1", { nextTriggerAt: at(env.slot) }, spec));
    const plan = planFire(loaded, at(env.now), { expectedWaitMs: env.waitMs, deadlineShare: env.share ?? 1 });
    expect(plan.fire.map((f) => iso(f.slot))).toEqual(want.fire.map((s) => iso(at(s))));
    expect({ shed: plan.shed, skipped: plan.skipped }).toEqual({ shed: want.shed, skipped: want.skipped });
  });
});
