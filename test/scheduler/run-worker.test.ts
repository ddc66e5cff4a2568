import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RunRecord } from "../../src/domain/run.js";
import { createHttpClient } from "../../src/executor/http-client.js";
import { createSecretSource } from "../../src/executor/secrets.js";
import { createJobCache } from "../../src/scheduler/job-cache.js";
import { createRunBookkeeping } from "../../src/scheduler/run-bookkeeping.js";
import { createRunEvents } from "../../src/scheduler/run-events.js";
import { PROGRESS_DEFAULTS } from "../../src/scheduler/run-progress.js";
import { createRunWorker, type RunWorker } from "../../src/scheduler/run-worker.js";
import { createSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { Store } from "../../src/store/store.js";
import { makeRun } from "../store/fixtures.js";
import { createFakeClock, type FakeClock } from "../support/fake-clock.js";
import { testMetrics } from "../support/metrics.js";

const T0 = Date.parse("2026-03-01T12:00:00Z");

/** Whether `promise` has settled, after letting pending callbacks run. */
async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(() => (settled = true));
  await new Promise((r) => setImmediate(r));
  return settled;
}

describe("run worker: background work between slots (fake clock)", () => {
  let clock: FakeClock;
  let store: Store;
  let worker: RunWorker;
  const errors: unknown[] = [];

  beforeEach(async () => {
    clock = createFakeClock(T0);
    store = createSqliteStore({ path: ":memory:" });
    await store.init();
    const http = createHttpClient({ clock, connectionsPerOrigin: 4 });
    const bookkeeping = createRunBookkeeping(store, clock, { statsFlushMs: 0, trimIntervalMs: 1000 }, (err) => errors.push(err));
    worker = createRunWorker({
      store, metrics: testMetrics(), clock, http, secrets: createSecretSource({}), handlers: new Map(), events: createRunEvents(),
      jobs: createJobCache(store), bookkeeping, nodeId: "n1", concurrency: 4, progress: PROGRESS_DEFAULTS, onError: (err) => errors.push(err),
    });
  });
  afterEach(async () => {
    await worker.stop(0);
    await store.close();
    expect(errors).toEqual([]);
  });

  /** A queued run of a job that does not exist: it ends cancelled without any request. */
  const heldRun = async (runId: string, dueAt: number): Promise<RunRecord> => {
    const run = makeRun(runId, "j_gone", dueAt, { status: "queued", dueAt });
    await store.insertRuns([run]);
    return run;
  };

  it("lets background work start at once when no slot is due soon", async () => {
    worker.submit(await heldRun("run_later", T0 + 10_000), false);
    expect(await isSettled(worker.betweenSlots())).toBe(true);
  });

  it("holds background work back while a held slot is due within the guard, until that slot has been released", async () => {
    worker.submit(await heldRun("run_soon", T0 + 200), false);
    const between = worker.betweenSlots();
    clock.advance(199);
    expect(await isSettled(between)).toBe(false);
    expect(worker.has("run_soon")).toBe(true);
    clock.advance(2);
    expect(await isSettled(between)).toBe(true);
  });

  it("stops waiting after two seconds when slots never leave a gap", async () => {
    // A held slot due every 100 ms for three seconds: never 250 ms clear of the next one.
    for (let i = 1; i <= 30; i++) worker.submit(await heldRun(`run_${i}`, T0 + i * 100), false);
    const between = worker.betweenSlots();
    for (let t = 0; t < 1900; t += 100) clock.advance(100);
    expect(await isSettled(between)).toBe(false);
    for (let t = 1900; t <= 2100; t += 100) {
      clock.advance(100);
      await new Promise((r) => setImmediate(r));
    }
    expect(await isSettled(between)).toBe(true);
  });
});
