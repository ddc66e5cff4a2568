import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createJobCommands } from "../../src/app/jobs.js";
import { createRunCommands } from "../../src/app/runs.js";
import { jobLockKey } from "../../src/coordination/coordinator.js";
import { createLocalCoordinator } from "../../src/coordination/local/local-coordinator.js";
import { createIdGenerator } from "../../src/domain/ids.js";
import { createRunEvents } from "../../src/scheduler/run-events.js";
import type { CancelMode } from "../../src/scheduler/run-canceller.js";
import { createSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { Store } from "../../src/store/store.js";
import type { RunRecord } from "../../src/domain/run.js";
import { makeRun, makeSpec } from "../support/fixtures.js";
import { createFakeClock } from "../support/fake-clock.js";
import { testMetrics } from "../support/metrics.js";

/** An actor of every project, as without authentication. */
const ALICE = { id: "alice", project: "*" };

describe("manual triggers", () => {
  const clock = createFakeClock("2026-03-26T10:25:00Z");
  const coordinator = createLocalCoordinator({ nodeId: "n1", address: "local", version: "t", clock });
  let store: Store;
  let jobs: ReturnType<typeof createJobCommands>;
  let runs: ReturnType<typeof createRunCommands>;
  let cancelled: string[] = [];

  beforeEach(async () => {
    store = createSqliteStore({ path: ":memory:" });
    await coordinator.start();
    const dispatcher = { dispatch: () => undefined };
    cancelled = [];
    // Like the real canceller when no replica holds the run: the run is stored cancelled.
    const canceller = {
      cancel: async (run: RunRecord, reason: string, mode: CancelMode = "abort") => {
        cancelled.push(`${run.runId}:${mode}`);
        const current = (await store.getRun(run.runId))!;
        await store.updateRun({ ...current, status: "cancelled", error: reason, finishedAt: clock.now(), revision: current.revision + 1 }, current.revision);
      },
      stop: () => undefined,
    };
    const deps = {
      store,
      clock,
      coordinator,
      ids: createIdGenerator(clock, randomBytes),
      dispatcher,
      canceller,
      events: createRunEvents(),
      metrics: testMetrics(),
      jobChanged: () => undefined,
    };
    jobs = createJobCommands(deps);
    runs = createRunCommands(deps);
  });
  afterEach(async () => {
    await coordinator.stop();
    await store.close();
  });

  it("queues a run under the job lock and stamps last_triggered_at", async () => {
    const job = await jobs.create(makeSpec(), {}, ALICE);
    const result = await runs.trigger(job);
    expect(result).toMatchObject({ lockAcquired: true, triggeredAt: clock.now() });
    expect(result.run).toMatchObject({ trigger: "manual", status: "queued", jobVersion: 1, scheduledAt: clock.now() });
    expect((await jobs.get(job.jobId, ALICE)).stats.lastTriggeredAt).toBe(clock.now());
    expect(await coordinator.isLocked(jobLockKey(job.jobId))).toBe(false);
  });

  it("records a skipped run with lock_acquired false while another holder has the lock", async () => {
    const job = await jobs.create(makeSpec(), {}, ALICE);
    const held = await coordinator.tryLock(jobLockKey(job.jobId), { ttlMs: 60_000 });
    const result = await runs.trigger(job);
    expect(result.lockAcquired).toBe(false);
    expect(result.run).toMatchObject({ status: "skipped", finishedAt: clock.now() });
    await held?.release();
  });

  it("records a skipped run under forbid while a run of the job is running", async () => {
    const job = await jobs.create(makeSpec({ concurrencyPolicy: "forbid" }), {}, ALICE);
    const first = await runs.trigger(job);
    await store.updateRun({ ...first.run, status: "running", revision: 2 }, 1);
    const second = await runs.trigger(job);
    expect(second).toMatchObject({ lockAcquired: false, run: { status: "skipped" } });
  });

  it("lets triggers overlap under allow", async () => {
    const job = await jobs.create(makeSpec({ concurrencyPolicy: "allow" }), {}, ALICE);
    const first = await runs.trigger(job);
    await store.updateRun({ ...first.run, status: "running", revision: 2 }, 1);
    expect((await runs.trigger(job)).lockAcquired).toBe(true);
  });

  it("aborts every run of a job it deletes, queued or running, and counts them", async () => {
    const job = await jobs.create(makeSpec({ concurrencyPolicy: "allow" }), {}, ALICE);
    const first = await runs.trigger(job);
    await runs.trigger(job);
    await store.updateRun({ ...first.run, status: "running", revision: 2 }, 1);
    expect(await jobs.remove(job.jobId, ALICE)).toEqual({ cancelled: 2, purged: 0 });
    expect(cancelled).toHaveLength(2);
    expect(cancelled).toContain(`${first.run.runId}:abort`);
    expect(cancelled.every((c) => c.endsWith(":abort"))).toBe(true);
  });

  it("pausing a job drains all its runs: staged, due and running ones start no new attempt", async () => {
    const job = await jobs.create(makeSpec({ concurrencyPolicy: "allow" }), {}, ALICE);
    const now = clock.now();
    const staged = makeRun("run_staged", job.jobId, now + 300, { dueAt: now + 300 });
    const due = makeRun("run_due", job.jobId, now - 1000, { dueAt: now - 1000 });
    const done = makeRun("run_done", job.jobId, now - 2000, { dueAt: now - 2000, status: "succeeded" });
    await store.insertRuns([staged, due, done]);
    await jobs.setEnabled(job.jobId, false, "maintenance", ALICE);
    expect(cancelled.sort()).toEqual(["run_due:drain", "run_staged:drain"]);
  });
});
