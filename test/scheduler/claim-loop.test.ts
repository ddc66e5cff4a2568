import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLocalCoordinator } from "../../src/coordination/local/local-coordinator.js";
import { CronError } from "../../src/domain/cron-error.js";
import type { RunRecord } from "../../src/domain/run.js";
import { createHttpClient } from "../../src/executor/http-client.js";
import { createSecretSource } from "../../src/executor/secrets.js";
import { createClaimLoop, runClaimKey, type ClaimLoop } from "../../src/scheduler/claim-loop.js";
import { createJobCache } from "../../src/scheduler/job-cache.js";
import { createOverload, type Overload } from "../../src/scheduler/overload.js";
import { createRunBookkeeping } from "../../src/scheduler/run-bookkeeping.js";
import { createRunEvents } from "../../src/scheduler/run-events.js";
import { PROGRESS_DEFAULTS } from "../../src/scheduler/run-progress.js";
import { createRunWorker, type RunWorker } from "../../src/scheduler/run-worker.js";
import { createSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { Store } from "../../src/store/store.js";
import { memoryLogger } from "../harness/memory-logger.js";
import { startSink, type Sink } from "../harness/sink.js";
import { makeJob, makeRun } from "../support/fixtures.js";
import { createFakeClock, type FakeClock } from "../support/fake-clock.js";
import { testMetrics } from "../support/metrics.js";

const T0 = Date.parse("2026-03-01T12:00:00Z");
const BOUND = 4;

/**
 * The claim loop of one replica whose queue is bounded (MAX_QUEUED_RUNS = 4): a real worker with
 * one worker slot, a real loopback sink whose answers wait for a gate, the embedded coordinator
 * and store, on a fake clock.
 */
describe("claim loop within the queue bound (fake clock, gated sink)", () => {
  let clock: FakeClock;
  let store: Store;
  let sink: Sink;
  let worker: RunWorker;
  let overload: Overload;
  let claims: ClaimLoop;
  let coordinator: ReturnType<typeof createLocalCoordinator>;
  let open: () => void;
  const errors: unknown[] = [];

  beforeEach(async () => {
    clock = createFakeClock(T0);
    store = createSqliteStore({ path: ":memory:" });
    await store.init();
    sink = await startSink();
    const gate = new Promise<void>((resolve) => (open = resolve));
    sink.reply(() => ({ status: 200, until: gate }));
    coordinator = createLocalCoordinator({ nodeId: "n1", address: "local", version: "t", clock });
    await coordinator.start();
    const metrics = testMetrics();
    const onError = (err: unknown, step: string) => errors.push(`${step}: ${String(err)}`);
    const jobs = createJobCache(store);
    worker = createRunWorker({
      store,
      metrics,
      clock,
      http: createHttpClient({ clock, connectionsPerOrigin: 4 }),
      secrets: createSecretSource({}),
      handlers: new Map(),
      events: createRunEvents(),
      jobs,
      bookkeeping: createRunBookkeeping(store, clock, { statsFlushMs: 0, trimIntervalMs: 60_000 }, onError),
      nodeId: "n1",
      concurrency: 1,
      progress: PROGRESS_DEFAULTS,
      onError,
    });
    overload = createOverload({ clock, queue: () => worker, metrics, log: memoryLogger("warn").log, options: { maxQueuedRuns: BOUND, concurrency: 1 } });
    claims = createClaimLoop({ store, coordinator, worker, jobs, clock, capacity: overload, options: { scanMs: 2000 }, onError });
    for (const jobId of ["j_a", "j_b", "j_c"]) {
      await store.createJob(
        makeJob(
          jobId,
          {},
          {
            concurrencyPolicy: "allow",
            tasks: [],
            target: { url: `${sink.url}/${jobId}`, method: "POST", headers: {}, body: "", timeoutMs: 86_400_000, successCodes: [] },
          },
        ),
      );
    }
  });
  afterEach(async () => {
    open();
    claims.stop();
    overload.stop();
    await worker.stop(0);
    await sink.close();
    // The run counters of the last runs are written a turn after they finish.
    await new Promise((r) => setTimeout(r, 20));
    await store.close();
    expect(errors.map(String)).toEqual([]);
  });

  /** Queued runs of a job, stored, one a minute back from T0. */
  const runs = async (jobId: string, count: number, from = 1): Promise<RunRecord[]> => {
    const out = Array.from({ length: count }, (_, i) => makeRun(`${jobId}_${from + i}`, jobId, T0 - (from + i) * 60_000, { dueAt: T0, trigger: "backfill" }));
    await store.insertRuns(out);
    return out;
  };
  const offer = (rs: RunRecord[]) => claims.offer(rs.map((run) => ({ run, exclusive: false })));
  const flush = () => new Promise((r) => setTimeout(r, 20));
  /** A second claim loop on this replica's worker, over `over` (a store that fails), reporting its errors apart. */
  const scanningOn = (over: Store, adoptMs?: number) => {
    const reported: string[] = [];
    const scanning = createClaimLoop({
      store: over,
      coordinator,
      worker,
      jobs: createJobCache(over),
      clock,
      options: { scanMs: 2000, ...(adoptMs === undefined ? {} : { adoptMs }) },
      onError: (err, step) => reported.push(`${step}: ${String(err)}`),
    });
    return { scanning, reported };
  };

  it("claims only what the queue has room for, one job at a time in turn, and lets in the first run of jobs with nothing here", async () => {
    await offer(await runs("j_a", 6));
    // Four claimed (the bound), the first of them executing behind the gate; two left unclaimed.
    await sink.waitFor(() => true, 1, 5000);
    expect(["j_a_1", "j_a_2", "j_a_3", "j_a_4"].every((id) => worker.has(id))).toBe(true);
    expect(worker.waiting()).toBe(3);
    expect(await coordinator.isLocked(runClaimKey("j_a_5"))).toBe(false);
    // One place left: it goes to the job whose turn it is; the other jobs' first runs still get in.
    await offer([...(await runs("j_a", 1, 7)), ...(await runs("j_b", 2)), ...(await runs("j_c", 1))]);
    expect(["j_a_7", "j_b_1", "j_c_1"].map((id) => worker.has(id))).toEqual([true, true, true]);
    expect(["j_b_2"].map((id) => worker.has(id))).toEqual([false]);
    expect(worker.waiting()).toBe(BOUND + 2);
  });

  it("scans for unclaimed runs only while the queue has room, then takes the rest", async () => {
    await offer(await runs("j_a", 6));
    await sink.waitFor(() => true, 1, 5000);
    // One place left (one run executes): the scan at start takes one, the next one none.
    claims.start();
    await flush();
    clock.advance(2000);
    await flush();
    expect(worker.has("j_a_5")).toBe(true);
    expect(worker.has("j_a_6")).toBe(false);
    expect(await coordinator.isLocked(runClaimKey("j_a_6"))).toBe(false);
    open();
    await worker.idle();
    clock.advance(2000);
    await flush();
    await worker.idle();
    expect(sink.deliveries.map((d) => d.runId).sort()).toEqual(["j_a_1", "j_a_2", "j_a_3", "j_a_4", "j_a_5", "j_a_6"]);
  });

  it("gives back every claim a scan took when the store fails under it, and adopts those runs on a later scan", async () => {
    open();
    await runs("j_a", 3);
    // The store fails the scan's read of the first run it claimed, once (a database restarting).
    let failures = 1;
    const failing: Store = {
      ...store,
      getRun: async (runId, scope) => {
        if (runId === "j_a_1" && failures-- > 0) throw new CronError("unavailable", "store restarting");
        return store.getRun(runId, scope);
      },
    };
    const { scanning, reported } = scanningOn(failing);
    scanning.start();
    await flush();
    expect(reported).toEqual(["claim scan: CronError: store restarting"]);
    expect(await Promise.all(["j_a_1", "j_a_2", "j_a_3"].map((id) => coordinator.isLocked(runClaimKey(id))))).toEqual([false, false, false]);
    clock.advance(2000);
    await flush();
    await worker.idle();
    scanning.stop();
    expect(sink.deliveries.map((d) => d.runId).sort()).toEqual(["j_a_1", "j_a_2", "j_a_3"]);
  });

  it("gives back the claims a scan has not adopted within its deadline when a store read hangs, and never starts the run it hung on", async () => {
    open();
    await runs("j_a", 2);
    let answer: (() => void) | undefined;
    const failing: Store = {
      ...store,
      getRun: async (runId, scope) => {
        // The first read of j_a_1 hangs until the test lets it answer (a call to a database that went away).
        if (runId === "j_a_1" && !answer) await new Promise<void>((resolve) => (answer = resolve));
        return store.getRun(runId, scope);
      },
    };
    const { scanning, reported } = scanningOn(failing, 5000);
    const claimedNow = () => Promise.all(["j_a_1", "j_a_2"].map((id) => coordinator.isLocked(runClaimKey(id))));
    scanning.start();
    await flush();
    expect(await claimedNow()).toEqual([true, true]);
    clock.advance(5000);
    await flush();
    expect(reported).toEqual(["claim scan: CronError: 2 of 2 runs claimed by a scan not adopted within 5000 ms: claims given back"]);
    expect(await claimedNow()).toEqual([false, false]);
    // The hung read answers late: its run is not started on a claim given back.
    answer!();
    await flush();
    expect(worker.has("j_a_1")).toBe(false);
    // Scans went on meanwhile (every 2 s): the next one adopts both.
    clock.advance(2000);
    await flush();
    await worker.idle();
    scanning.stop();
    expect(sink.deliveries.map((d) => d.runId).sort()).toEqual(["j_a_1", "j_a_2"]);
  });
});
