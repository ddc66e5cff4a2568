import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ATTEMPT_INTERRUPTED, type RunRecord } from "../../src/domain/run.js";
import { createHttpClient, SEND_STALL_MS } from "../../src/executor/http-client.js";
import { createSecretSource } from "../../src/executor/secrets.js";
import { createJobCache } from "../../src/scheduler/job-cache.js";
import { createRunBookkeeping } from "../../src/scheduler/run-bookkeeping.js";
import { createRunEvents } from "../../src/scheduler/run-events.js";
import { PROGRESS_DEFAULTS } from "../../src/scheduler/run-progress.js";
import { createRunWorker, type RunWorker } from "../../src/scheduler/run-worker.js";
import { createSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { Store } from "../../src/store/store.js";
import { makeJob, makeRun } from "../support/fixtures.js";
import { createFakeClock, type FakeClock } from "../support/fake-clock.js";
import { testMetrics } from "../support/metrics.js";
import type { Metrics } from "../../src/telemetry/metrics.js";
import { flush } from "../support/flush.js";

const T0 = Date.parse("2026-03-01T12:00:00Z");

/** Whether `promise` has settled, after letting pending callbacks run. */
async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(() => (settled = true));
  await flush();
  return settled;
}

/**
 * A worker on a fake clock over an in-memory store (4 workers, 4 connections unless `pool` says
 * otherwise); `prepared` lists the clock's time at each slot preparation.
 */
function setUp(pool: { concurrency: number; connections: number } = { concurrency: 4, connections: 4 }) {
  const ctx = {} as { clock: FakeClock; store: Store; worker: RunWorker; errors: unknown[]; prepared: number[]; metrics: Metrics };
  beforeEach(async () => {
    const clock = createFakeClock(T0);
    const store = createSqliteStore({ path: ":memory:" });
    await store.init();
    const errors: unknown[] = [];
    const prepared: number[] = [];
    const http = createHttpClient({ clock, connectionsPerOrigin: pool.connections });
    const bookkeeping = createRunBookkeeping(store, clock, { statsFlushMs: 0, trimIntervalMs: 1000 }, (err) => errors.push(err));
    const metrics = testMetrics();
    const worker = createRunWorker({
      store,
      metrics,
      clock,
      http,
      secrets: createSecretSource({}),
      handlers: new Map(),
      events: createRunEvents(),
      jobs: createJobCache(store),
      bookkeeping,
      nodeId: "n1",
      concurrency: pool.concurrency,
      progress: PROGRESS_DEFAULTS,
      onError: (err) => errors.push(err),
      prepareForSlot: () => prepared.push(clock.now()),
    });
    Object.assign(ctx, { clock, store, worker, errors, prepared, metrics });
  });
  afterEach(async () => {
    await ctx.worker.stop(0);
    await ctx.store.close();
    expect(ctx.errors).toEqual([]);
  });
  /** A queued run of a job that does not exist: it ends cancelled without any request. */
  const heldRun = async (runId: string, dueAt: number): Promise<RunRecord> => {
    const run = makeRun(runId, "j_gone", dueAt, { status: "queued", dueAt });
    await ctx.store.insertRuns([run]);
    return run;
  };
  return { ctx, heldRun };
}

describe("run worker: background work between slots (fake clock)", () => {
  const { ctx, heldRun } = setUp();

  it("lets background work start at once when no slot is due soon", async () => {
    ctx.worker.submit(await heldRun("run_later", T0 + 10_000), false);
    expect(await isSettled(ctx.worker.betweenSlots())).toBe(true);
  });

  it("holds background work back while a held slot is due within the guard, until that slot has been released", async () => {
    ctx.worker.submit(await heldRun("run_soon", T0 + 200), false);
    const between = ctx.worker.betweenSlots();
    ctx.clock.advance(199);
    expect(await isSettled(between)).toBe(false);
    expect(ctx.worker.has("run_soon")).toBe(true);
    ctx.clock.advance(2);
    await flush();
    // The released run's requests get 50 ms to leave before background work may start.
    ctx.clock.advance(50);
    expect(await isSettled(between)).toBe(true);
  });

  it("says whether background work may start now: not while a held slot is near, nor while a released one is leaving", async () => {
    expect(ctx.worker.inSlotGap()).toBe(true);
    ctx.worker.submit(await heldRun("run_b", T0 + 900), false);
    ctx.worker.submit(await heldRun("run_a", T0 + 300), false);
    expect(ctx.worker.inSlotGap()).toBe(true);
    ctx.clock.advance(60);
    expect(ctx.worker.inSlotGap()).toBe(false);
    ctx.clock.advance(240);
    expect(ctx.worker.inSlotGap()).toBe(false);
    await flush();
    ctx.clock.advance(51);
    await flush();
    expect(ctx.worker.has("run_a")).toBe(false);
    expect(ctx.worker.inSlotGap()).toBe(true);
    ctx.clock.advance(300);
    expect(ctx.worker.inSlotGap()).toBe(false);
    ctx.worker.cancel("run_b", "test");
    await flush();
    ctx.clock.advance(51);
    await flush();
    expect(ctx.worker.inSlotGap()).toBe(true);
  });

  it("stops waiting after two seconds when slots never leave a gap", async () => {
    // A held slot due every 100 ms for three seconds: never 250 ms clear of the next one.
    for (let i = 1; i <= 30; i++) ctx.worker.submit(await heldRun(`run_${i}`, T0 + i * 100), false);
    const between = ctx.worker.betweenSlots();
    for (let t = 0; t < 1900; t += 100) ctx.clock.advance(100);
    expect(await isSettled(between)).toBe(false);
    for (let t = 1900; t <= 2100; t += 100) {
      ctx.clock.advance(100);
      await flush();
    }
    expect(await isSettled(between)).toBe(true);
  });
});

describe("run worker: slot preparation (fake clock)", () => {
  const { ctx, heldRun } = setUp();

  it("prepares a hundred milliseconds before a held slot is due", async () => {
    ctx.worker.submit(await heldRun("run_a", T0 + 1000), false);
    ctx.clock.advance(899);
    expect(ctx.prepared).toEqual([]);
    ctx.clock.advance(1);
    expect(ctx.prepared).toEqual([T0 + 900]);
  });

  it("prepares once for slots less than two hundred milliseconds apart, again for the next one further off", async () => {
    for (const [id, at] of [
      ["run_a", 1000],
      ["run_b", 1010],
      ["run_c", 1150],
      ["run_d", 1400],
    ] as const)
      ctx.worker.submit(await heldRun(id, T0 + at), false);
    for (let t = 0; t < 1500; t += 10) {
      ctx.clock.advance(10);
      await flush();
    }
    expect(ctx.prepared).toEqual([T0 + 900, T0 + 1300]);
  });

  it("does not prepare for a run submitted closer to its due time than the lead, nor for a cancelled one", async () => {
    ctx.worker.submit(await heldRun("run_close", T0 + 60), false);
    ctx.worker.submit(await heldRun("run_cancelled", T0 + 5000), false);
    ctx.worker.cancel("run_cancelled", "test");
    for (let t = 0; t < 6000; t += 100) {
      ctx.clock.advance(100);
      await flush();
    }
    expect(ctx.prepared).toEqual([]);
  });
});

describe("run worker: a shutdown cuts a request short (fake clock)", () => {
  const { ctx } = setUp();
  let server: http.Server;
  let url = "";
  beforeEach(async () => {
    // Receives requests and never answers them.
    server = http.createServer(() => undefined);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/held`;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  /** A stored job calling the silent server once, and a queued run of it, due now. */
  const createSilentJob = async () => {
    const target = { url, method: "POST", headers: {}, body: "", timeoutMs: 60_000, successCodes: [] };
    await ctx.store.createJob(
      makeJob("j_silent", {}, { target, tasks: [], retry: { maxAttempts: 1, initialBackoffMs: 10, maxBackoffMs: 10, multiplier: 1, retryOn: "on_failure" } }),
    );
  };
  const runOfSilentJob = async (runId: string): Promise<RunRecord> => {
    await createSilentJob();
    const run = makeRun(runId, "j_silent", T0, { status: "queued", dueAt: T0 });
    await ctx.store.insertRuns([run]);
    return run;
  };
  const requestArrived = () => new Promise<void>((r) => server.once("request", () => r()));

  it("stores the run queued again with the attempt marked interrupted, and hands that record back", async () => {
    const handedBack: [boolean, RunRecord][] = [];
    const arrived = requestArrived();
    ctx.worker.submit(await runOfSilentJob("run_cut"), false, (settled, run) => handedBack.push([settled, run]));
    await arrived;
    const stopped = ctx.worker.stop(0);
    ctx.clock.advance(0);
    await stopped;
    const stored = (await ctx.store.getRun("run_cut"))!;
    expect(stored.status).toBe("queued");
    expect(stored.attempts).toMatchObject([{ number: 1, statusCode: 0, interrupted: true, error: ATTEMPT_INTERRUPTED }]);
    expect(handedBack).toEqual([[false, stored]]);
    // Not a failure of the target's.
    expect((await ctx.metrics.render()).body).not.toMatch(/cronmesh_attempts_total\{result="failure"\} [1-9]/);
  });

  it("leaves a run cancelled for good cancelled, not queued, when the node stops", async () => {
    const arrived = requestArrived();
    ctx.worker.submit(await runOfSilentJob("run_gone"), false);
    await arrived;
    ctx.worker.cancel("run_gone", "cancelled by a test");
    // The grace ends before the cancelled run has written its final state.
    const stopped = ctx.worker.stop(0);
    ctx.clock.advance(0);
    await stopped;
    const stored = (await ctx.store.getRun("run_gone"))!;
    expect(stored).toMatchObject({ status: "cancelled", error: "cancelled by a test" });
    expect(stored.attempts).toMatchObject([{ number: 1, error: "cancelled" }]);
    expect(stored.attempts[0]!.interrupted).toBeUndefined();
  });

  /** A queued run of the silent job due at `dueAt` (the job is created once). */
  const silentRunDue = async (runId: string, dueAt: number): Promise<RunRecord> => {
    if (!(await ctx.store.getJob("j_silent"))) await createSilentJob();
    // Each run its own slot key (a slot makes one run), all due at `dueAt`.
    const run = makeRun(runId, "j_silent", dueAt, { status: "queued", dueAt, slotKey: `slot-${runId}` });
    await ctx.store.insertRuns([run]);
    return run;
  };
  let requests = 0;
  beforeEach(() => {
    requests = 0;
    server.on("request", () => requests++);
  });
  const realPause = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it("never starts a run before its due time, and starts it at that time", async () => {
    const dueAt = T0 + 5000;
    const run = await silentRunDue("run_later", dueAt);
    ctx.worker.submit(run, false);
    ctx.clock.advance(4999);
    await flush();
    await realPause(100);
    expect(requests).toBe(0);
    expect((await ctx.store.getRun("run_later"))?.status).toBe("queued");
    const arrived = requestArrived();
    ctx.clock.advance(1);
    await arrived;
    expect(requests).toBe(1);
  });

  it("stop(grace) leaves the runs it had not started queued, untouched, and hands them back", async () => {
    const handedBack: string[] = [];
    const onDone = (settled: boolean, run: RunRecord) => void (!settled && handedBack.push(run.runId));
    // Four workers: four requests in flight, a fifth run waiting for a worker, a sixth held for later.
    let arrived = 0;
    const allArrived = new Promise<void>((r) => server.on("request", () => ++arrived === 4 && r()));
    for (let i = 0; i < 5; i++) ctx.worker.submit(await silentRunDue(`run_now_${i}`, T0), false, onDone);
    ctx.worker.submit(await silentRunDue("run_held", T0 + 60_000), false, onDone);
    ctx.clock.advance(0);
    await allArrived;
    await realPause(50);
    expect(requests).toBe(4);
    const stopped = ctx.worker.stop(0);
    ctx.clock.advance(0);
    await stopped;
    for (const runId of ["run_now_4", "run_held"]) {
      const stored = (await ctx.store.getRun(runId))!;
      expect(stored).toMatchObject({ status: "queued", attempts: [] });
      expect(stored.startedAt).toBeUndefined();
    }
    expect(handedBack).toEqual(expect.arrayContaining(["run_now_4", "run_held"]));
    expect(requests).toBe(4);
  });
});

describe("run worker: a finished run's final write waits for the requests still leaving (fake clock)", () => {
  // One connection for three workers: two requests wait for it in undici while the first is answered.
  const { ctx } = setUp({ concurrency: 3, connections: 1 });
  let server: http.Server;
  let base = "";
  const held: http.ServerResponse[] = [];
  const received: string[] = [];
  beforeEach(async () => {
    held.length = 0;
    received.length = 0;
    server = http.createServer((req, res) => {
      received.push(req.url!);
      req.resume();
      if (req.url === "/fast") res.writeHead(200).end("ok");
      else held.push(res);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  const runOf = async (runId: string, path: string): Promise<RunRecord> => {
    const jobId = `j${path.replace("/", "_")}`;
    if (!(await ctx.store.getJob(jobId))) {
      const target = { url: `${base}${path}`, method: "POST", headers: {}, body: "", timeoutMs: 60_000, successCodes: [] };
      await ctx.store.createJob(
        makeJob(jobId, {}, { target, tasks: [], retry: { maxAttempts: 1, initialBackoffMs: 10, maxBackoffMs: 10, multiplier: 1, retryOn: "on_failure" } }),
      );
    }
    const run = makeRun(runId, jobId, T0, { status: "queued", dueAt: T0, slotKey: `slot-${runId}` });
    await ctx.store.insertRuns([run]);
    return run;
  };
  const until = (holds: () => boolean) => vi.waitFor(() => expect(holds()).toBe(true), { timeout: 2000, interval: 5 });
  const status = async (runId: string) => (await ctx.store.getRun(runId))!.status;
  /** Lets real time pass (the fake clock advancing `advanceMs` at each look) until the runs are stored as `expected`. */
  const stored = (runIds: string[], expected: string, advanceMs = 0) =>
    vi.waitFor(
      async () => {
        const statuses = await Promise.all(runIds.map(status));
        if (statuses.some((s) => s !== expected)) ctx.clock.advance(advanceMs);
        expect(statuses).toEqual(runIds.map(() => expected));
      },
      { timeout: 2000, interval: 5 },
    );

  it("stores the answered run only once the others' requests are written, or have stalled", async () => {
    const runs = [await runOf("run_a", "/fast"), await runOf("run_b", "/hold"), await runOf("run_c", "/hold")];
    for (const run of runs) ctx.worker.submit(run, false);
    // run_a answered, run_b written and held by the server, run_c waiting for the connection.
    await until(() => received.length === 2);
    await flush();
    expect(await status("run_a")).not.toBe("succeeded");
    // Nothing has left for a while: run_c is stuck behind run_b, and run_a's write goes.
    ctx.clock.advance(SEND_STALL_MS);
    await stored(["run_a"], "succeeded");
    // Its duration is its request's, not the wait for the others to leave.
    expect(await ctx.store.getRun("run_a")).toMatchObject({ startedAt: T0, finishedAt: T0, durationMs: 0 });
    expect(await status("run_b")).not.toBe("succeeded");
    // The held answers come: run_c leaves on the freed connection, and every run ends stored.
    held.shift()!.writeHead(200).end("ok");
    await until(() => received.length === 3);
    held.shift()!.writeHead(200).end("ok");
    await stored(["run_a", "run_b", "run_c"], "succeeded", SEND_STALL_MS);
    expect(received).toEqual(["/fast", "/hold", "/hold"]);
  });
});
