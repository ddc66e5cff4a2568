import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLocalCoordinator } from "../../src/coordination/local/local-coordinator.js";
import { CronError } from "../../src/domain/cron-error.js";
import { createIdGenerator } from "../../src/domain/ids.js";
import type { JobRecord } from "../../src/domain/job.js";
import type { RunRecord } from "../../src/domain/run.js";
import { createFireLoop, type FireLoop, type SendGate } from "../../src/scheduler/fire-loop.js";
import { createRunEvents } from "../../src/scheduler/run-events.js";
import type { RunDispatcher } from "../../src/scheduler/run-dispatcher.js";
import type { RunCanceller } from "../../src/scheduler/run-canceller.js";
import { createSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { Store } from "../../src/store/store.js";
import { makeJob, makeRun } from "../support/fixtures.js";
import { createFakeClock, type FakeClock } from "../support/fake-clock.js";
import { testMetrics } from "../support/metrics.js";
import { flush } from "../support/flush.js";

const T0 = Date.parse("2026-03-01T12:00:00Z");
/** The resync period these tests run the loop with (steps below are derived from it). */
const RESYNC_MS = 15_000;

/** A dispatcher that only records the runs it is handed. */
function recordingDispatcher(): RunDispatcher & { runs: RunRecord[] } {
  const runs: RunRecord[] = [];
  return { runs, dispatch: (batch) => void runs.push(...batch.map((b) => b.run)) };
}

/** A canceller that records what it was asked to cancel. */
function recordingCanceller(): RunCanceller & { cancelled: string[] } {
  const cancelled: string[] = [];
  return { cancelled, cancel: async (run) => void cancelled.push(run.runId), stop: () => undefined };
}

/** The store, with call counts, an optional failure of the next insert, and a gate inserts wait for. */
function instrumented(store: Store) {
  const calls = { insertRuns: 0, advanceJobs: 0, listDueJobRefs: 0, failNextInsert: false, insertGate: undefined as Promise<void> | undefined };
  const wrapped: Store = {
    ...store,
    listDueJobRefs: async (before, limit) => {
      calls.listDueJobRefs++;
      return store.listDueJobRefs(before, limit);
    },
    insertRuns: async (runs) => {
      calls.insertRuns++;
      if (calls.failNextInsert) {
        calls.failNextInsert = false;
        throw new CronError("unavailable", "store down");
      }
      if (calls.insertGate) await calls.insertGate;
      return store.insertRuns(runs);
    },
    advanceJobs: async (a) => {
      calls.advanceJobs++;
      return store.advanceJobs(a);
    },
  };
  return { store: wrapped, calls };
}

/** An every-minute job whose next slot is `slot`. */
const minutely = (jobId: string, slot: number, overrides: Partial<JobRecord> = {}) =>
  makeJob(jobId, { nextTriggerAt: slot, ...overrides }, { schedule: "* * * * *", timezone: "UTC", maxJitterMs: 0, concurrencyPolicy: "allow" });

describe("fire loop (fake clock)", () => {
  let clock: FakeClock;
  let raw: Store;
  let store: Store;
  let calls: ReturnType<typeof instrumented>["calls"];
  let worker: ReturnType<typeof recordingDispatcher>;
  let loop: FireLoop;
  let coordinator: ReturnType<typeof createLocalCoordinator>;
  const errors: unknown[] = [];

  beforeEach(async () => {
    clock = createFakeClock(T0);
    raw = createSqliteStore({ path: ":memory:" });
    ({ store, calls } = instrumented(raw));
    worker = recordingDispatcher();
    coordinator = createLocalCoordinator({ nodeId: "n1", address: "local", version: "t", clock });
    await coordinator.start();
    loop = createFireLoop({
      store,
      metrics: testMetrics(),
      clock,
      coordinator,
      dispatcher: worker,
      canceller: recordingCanceller(),
      events: createRunEvents(),
      ids: createIdGenerator(clock, randomBytes),
      onError: (err) => errors.push(err),
    });
  });
  afterEach(async () => {
    loop.stop();
    await raw.close();
  });

  /** A second loop over the same store and worker, whose background work also asks `sends` (a run worker's part). */
  const loopWithSends = (sends: SendGate) =>
    createFireLoop({
      store,
      metrics: testMetrics(),
      clock,
      coordinator,
      dispatcher: worker,
      canceller: recordingCanceller(),
      events: createRunEvents(),
      ids: createIdGenerator(clock, randomBytes),
      options: { resyncMs: RESYNC_MS },
      sends,
      onError: (err) => errors.push(err),
    });

  const step = async (ms: number) => {
    clock.advance(ms);
    await loop.settled();
  };

  it("stages a slot just ahead of its due time (the lead), handing the workers a run due at the slot", async () => {
    await raw.createJob(minutely("j1", T0 + 60_000));
    await loop.start();
    await step(59_899);
    expect(worker.runs).toHaveLength(0);
    await step(1);
    expect(worker.runs.map((r) => [r.jobId, r.scheduledAt, r.dueAt, r.trigger])).toEqual([["j1", T0 + 60_000, T0 + 60_000, "schedule"]]);
    expect((await raw.getJob("j1"))?.nextTriggerAt).toBe(T0 + 120_000);
  });

  it("stages many jobs due together earlier, in proportion to their number", async () => {
    for (let i = 0; i < 2000; i++) await raw.createJob(minutely(`many_${String(i).padStart(4, "0")}`, T0 + 60_000));
    await loop.start();
    // 100 ms + 2,000 jobs × 0.25 ms (the first estimate of the cost per job) = 600 ms ahead.
    await step(59_399);
    expect(worker.runs).toHaveLength(0);
    await step(1);
    expect(worker.runs).toHaveLength(2000);
  });

  it("waits for the due time to decide a forbid slot while a run of the job is still active", async () => {
    const job = makeJob("j_forbid", { nextTriggerAt: T0 + 60_000 }, { schedule: "* * * * *", timezone: "UTC", maxJitterMs: 0, concurrencyPolicy: "forbid" });
    await raw.createJob(job);
    await raw.insertRuns([makeRun("run_active", "j_forbid", T0, { status: "running" })]);
    await loop.start();
    await step(59_999);
    expect(worker.runs).toHaveLength(0);
    const stored = await raw.updateRun({ ...(await raw.getRun("run_active"))!, status: "succeeded", finishedAt: clock.now(), revision: 2 }, 1);
    expect(stored.status).toBe("succeeded");
    await step(1);
    expect(worker.runs.map((r) => [r.jobId, r.scheduledAt, r.status])).toEqual([["j_forbid", T0 + 60_000, "queued"]]);
  });

  it("fires a job created after start without waiting for a resync", async () => {
    await loop.start();
    await raw.createJob(minutely("j2", T0 + 1000));
    loop.jobChanged("j2");
    await loop.settled();
    await step(1000);
    expect(worker.runs.map((r) => r.jobId)).toEqual(["j2"]);
  });

  it("does not fire a job paused after it was loaded", async () => {
    await raw.createJob(minutely("j3", T0 + 1000));
    await loop.start();
    const job = (await raw.getJob("j3"))!;
    await raw.updateJob({ ...job, status: "paused", version: 2 }, 1);
    loop.jobChanged("j3");
    await step(5000);
    expect(worker.runs).toHaveLength(0);
  });

  it("retries the jobs of a batch whose write failed, and fires each slot once", async () => {
    await raw.createJob(minutely("j4", T0 + 1000));
    await loop.start();
    calls.failNextInsert = true;
    await step(1000);
    expect(worker.runs).toHaveLength(0);
    expect(errors).toHaveLength(1);
    await step(1000);
    expect(worker.runs.map((r) => [r.jobId, r.scheduledAt])).toEqual([["j4", T0 + 1000]]);
  });

  it("fires nothing while the node may not fire, and catches up once it may", async () => {
    await raw.createJob(minutely("j5", T0 + 1000));
    await loop.start();
    await coordinator.stop();
    await step(2000);
    expect(worker.runs).toHaveLength(0);
    await coordinator.start();
    await step(250);
    expect(worker.runs.map((r) => r.jobId)).toEqual(["j5"]);
  });

  it("starts a resync only once the node's sends are done, so its store calls never hold up a slot's requests", async () => {
    let sendsBusy: Promise<void> | undefined;
    let sendsOver = () => undefined as void;
    const gated = loopWithSends({ betweenSlots: () => sendsBusy ?? Promise.resolve(), inSlotGap: () => sendsBusy === undefined });
    await gated.start();
    const loads = calls.listDueJobRefs;
    sendsBusy = new Promise((resolve) => (sendsOver = resolve));
    clock.advance(RESYNC_MS);
    await flush();
    expect(calls.listDueJobRefs).toBe(loads);
    sendsBusy = undefined;
    sendsOver();
    await flush();
    await gated.settled();
    expect(calls.listDueJobRefs).toBe(loads + 1);
    gated.stop();
  });

  it("holds a resync back while its own next staging is under 250 ms away, and runs it once that slot is staged", async () => {
    await raw.createJob(minutely("j_near", T0 + RESYNC_MS + 300));
    await loop.start();
    const loads = calls.listDueJobRefs;
    await step(RESYNC_MS);
    await flush();
    expect(calls.listDueJobRefs).toBe(loads);
    await step(200);
    expect(worker.runs.map((r) => r.jobId)).toEqual(["j_near"]);
    expect(calls.listDueJobRefs).toBe(loads);
    clock.advance(2);
    await flush();
    await loop.settled();
    expect(calls.listDueJobRefs).toBe(loads + 1);
  });

  it("checks the gap again when a resync queued behind a staging gets its turn, so the slot just staged is not held up", async () => {
    // The worker's view: runs handed over and not due yet are held.
    const heldAt = () => Math.min(Infinity, ...worker.runs.map((r) => r.dueAt).filter((at) => at > clock.now()));
    const gated = loopWithSends({ betweenSlots: () => Promise.resolve(), inSlotGap: () => heldAt() - clock.now() >= 250 });
    await raw.createJob(minutely("j_race", T0 + RESYNC_MS + 80));
    await gated.start();
    const loads = calls.listDueJobRefs;
    let openGate = () => undefined as void;
    calls.insertGate = new Promise((resolve) => (openGate = resolve));
    // The staging (100 ms ahead) starts and waits on its insert; the resync's timer fires meanwhile,
    // when neither the loop nor the worker has a slot near: it queues behind the staging.
    clock.advance(RESYNC_MS - 10);
    await flush();
    expect(calls.insertRuns).toBe(1);
    clock.advance(10);
    await flush();
    calls.insertGate = undefined;
    openGate();
    await flush();
    await gated.settled();
    expect(worker.runs.map((r) => r.jobId)).toEqual(["j_race"]);
    expect(calls.listDueJobRefs).toBe(loads);
    clock.advance(81);
    await flush();
    await gated.settled();
    expect(calls.listDueJobRefs).toBe(loads + 1);
    gated.stop();
  });

  it("lets background work start at once when its next staging is far off", async () => {
    await raw.createJob(minutely("j_far", T0 + 30_000));
    await loop.start();
    let started = false;
    void loop.betweenSlots().then(() => (started = true));
    await flush();
    expect(started).toBe(true);
  });

  /** A run queue as the loop sees it, set by hand: room in runs and in jobs, the jobs it holds, the wait it announces. */
  const queueOf = () => {
    const q = { room: 0, newJobRoom: 0, jobs: new Set<string>(), waitMs: 0, held: 0, shed: [] as [string, number][] };
    const overload = {
      room: () => q.room,
      newJobRoom: () => q.newJobRoom,
      hasJob: (jobId: string) => q.jobs.has(jobId),
      expectedWaitMs: () => q.waitMs,
      held: () => void q.held++,
      shed: (reason: "staging" | "start_deadline", n: number) => void (n > 0 && q.shed.push([reason, n])),
      overloaded: true,
    };
    const bounded = createFireLoop({
      store,
      metrics: testMetrics(),
      clock,
      coordinator,
      dispatcher: worker,
      canceller: recordingCanceller(),
      events: createRunEvents(),
      ids: createIdGenerator(clock, randomBytes),
      overload,
      onError: (err) => errors.push(err),
    });
    return { q, bounded };
  };
  const everySecond = (jobId: string, slot: number, misfirePolicy: JobRecord["spec"]["misfirePolicy"]) =>
    makeJob(jobId, { nextTriggerAt: slot }, { schedule: "* * * * * *", timezone: "UTC", maxJitterMs: 0, concurrencyPolicy: "allow", misfirePolicy });

  it("stages nothing while the run queue is full, looks for room every 10 ms, then decides the held-back slots by their misfire policy", async () => {
    const { q, bounded } = queueOf();
    await raw.createJob(everySecond("j_full", T0 + 1000, "skip"));
    await bounded.start();
    q.jobs.add("j_full");
    q.newJobRoom = 5;
    clock.advance(3500);
    await bounded.settled();
    for (let i = 0; i < 5; i++) {
      clock.advance(2);
      await bounded.settled();
    }
    expect(worker.runs).toHaveLength(0);
    expect(q.held).toBeGreaterThan(0);
    q.room = 10;
    clock.advance(10);
    await bounded.settled();
    // At 3.52 s: the 1 s slot missed beyond the grace (skipped), the 2 s one overdue, and the 3 s
    // one past half its deadline (the node is overloaded): shed in memory, the 4 s slot staged ahead.
    expect(worker.runs).toHaveLength(0);
    expect(q.shed).toEqual([["staging", 3]]);
    clock.advance(400);
    await bounded.settled();
    expect(worker.runs.map((r) => [r.scheduledAt - T0, r.trigger])).toEqual([[4000, "schedule"]]);
    expect((await raw.getJob("j_full"))?.stats.skippedCount).toBe(3);
    bounded.stop();
  });

  it("stages, while the queue is full of other jobs' runs, the slots of jobs with nothing queued", async () => {
    const { q, bounded } = queueOf();
    await raw.createJob(everySecond("j_queued", T0 + 1000, "skip"));
    await raw.createJob(everySecond("j_new", T0 + 1000, "skip"));
    await bounded.start();
    q.jobs.add("j_queued");
    q.newJobRoom = 1;
    clock.advance(1000);
    await bounded.settled();
    expect(worker.runs.map((r) => r.jobId)).toEqual(["j_new"]);
    q.newJobRoom = 0;
    clock.advance(1000);
    await bounded.settled();
    expect(worker.runs.map((r) => r.jobId)).toEqual(["j_new"]);
    bounded.stop();
  });

  it("does not stage a slot whose run could not start by its deadline behind the queue's announced wait; counts it at the job's next fire", async () => {
    const { q, bounded } = queueOf();
    await raw.createJob(everySecond("j_wait", T0 + 1000, "fire_once"));
    await raw.createJob(minutely("j_minute", T0 + 1000));
    await bounded.start();
    q.room = 100;
    q.waitMs = 1500;
    clock.advance(1000);
    await bounded.settled();
    clock.advance(1000);
    await bounded.settled();
    // Shed in memory: no write per job and second while the queue stays this long.
    expect(worker.runs.map((r) => r.jobId)).toEqual(["j_minute"]);
    expect((await raw.getJob("j_wait"))?.nextTriggerAt).toBe(T0 + 1000);
    expect(q.shed).toEqual([
      ["staging", 1],
      ["staging", 1],
    ]);
    q.waitMs = 0;
    clock.advance(1000);
    await bounded.settled();
    expect(worker.runs.map((r) => [r.jobId, r.scheduledAt - T0])).toEqual([
      ["j_minute", 1000],
      ["j_wait", 3000],
    ]);
    const job = await raw.getJob("j_wait");
    expect(job?.stats.skippedCount).toBe(2);
    expect(job?.nextTriggerAt).toBe(T0 + 4000);
    bounded.stop();
  });

  it("writes 1,000 simultaneous slots in a handful of batched calls, not one call per job", async () => {
    for (let i = 0; i < 1000; i++) await raw.createJob(minutely(`bulk_${String(i).padStart(4, "0")}`, T0 + 1000));
    await loop.start();
    await step(1000);
    expect(worker.runs).toHaveLength(1000);
    expect(calls.insertRuns).toBeLessThanOrEqual(5);
    expect(calls.advanceJobs).toBeLessThanOrEqual(5);
  });
});
