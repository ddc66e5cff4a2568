import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { TaskSpec } from "../../src/domain/job.js";
import type { TaskResultRecord } from "../../src/domain/run.js";
import { createHttpClient, type HttpClient } from "../../src/executor/http-client.js";
import { createSecretSource } from "../../src/executor/secrets.js";
import { createJobCache } from "../../src/scheduler/job-cache.js";
import { createRunBookkeeping } from "../../src/scheduler/run-bookkeeping.js";
import { createRunEvents } from "../../src/scheduler/run-events.js";
import { PROGRESS_DEFAULTS } from "../../src/scheduler/run-progress.js";
import { createRunWorker, type RunWorker } from "../../src/scheduler/run-worker.js";
import { createSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { openMongoStoreForTest } from "../harness/mongo.js";
import type { StoreKind } from "../harness/node.js";
import { startSink, type Sink } from "../harness/sink.js";
import type { StoreHarness } from "../store/store.contract.js";
import { makeJob, makeRun, makeSpec } from "../support/fixtures.js";
import { createFakeClock } from "../support/fake-clock.js";
import { testMetrics } from "../support/metrics.js";

const T0 = Date.parse("2026-03-01T12:00:00Z");

async function openStore(kind: StoreKind): Promise<StoreHarness> {
  if (kind === "mongo") return openMongoStoreForTest();
  const store = createSqliteStore({ path: ":memory:" });
  await store.init();
  return { store, dispose: () => store.close() };
}

describe.each<StoreKind>(["sqlite", "mongo"])("run worker: DAG runs on %s (fake clock, loopback sink)", (kind) => {
  let sink: Sink;
  let harness: StoreHarness;
  let http: HttpClient;
  let worker: RunWorker;
  let errors: unknown[];
  let seq = 0;

  beforeAll(async () => {
    sink = await startSink();
  });
  afterAll(async () => {
    await sink.close();
  });
  beforeEach(async () => {
    harness = await openStore(kind);
    const clock = createFakeClock(T0);
    const { store } = harness;
    errors = [];
    http = createHttpClient({ clock, connectionsPerOrigin: 8 });
    // Counters and trims wait for the worker's stop, which writes them before the store closes.
    const bookkeeping = createRunBookkeeping(store, clock, { statsFlushMs: 60_000, trimIntervalMs: 60_000 }, (err) => errors.push(err));
    worker = createRunWorker({
      store,
      metrics: testMetrics(),
      clock,
      http,
      secrets: createSecretSource({}),
      handlers: new Map(),
      events: createRunEvents(),
      jobs: createJobCache(store),
      bookkeeping,
      nodeId: "n1",
      concurrency: 4,
      progress: PROGRESS_DEFAULTS,
      onError: (err) => errors.push(err),
    });
    sink.reply(() => ({ status: 200, body: "ok" }));
  });
  afterEach(async () => {
    await worker.stop(0);
    await http.close();
    await harness.dispose();
    expect(errors).toEqual([]);
  });

  /** A job of three chained tasks a → b → c calling the sink, and a queued run of it with the given task results. */
  const dagRun = async (taskResults: TaskResultRecord[]) => {
    const base = `/worker-dag/${kind}/${++seq}`;
    const task = (taskId: string, ...dependsOn: string[]): TaskSpec => ({
      taskId,
      name: taskId,
      dependsOn,
      handler: "",
      target: { url: `${sink.url}${base}/${taskId}`, method: "POST", headers: {}, body: "", timeoutMs: 60_000, successCodes: [], auth: undefined },
    });
    const jobId = `j_dag_${seq}`;
    await harness.store.createJob(
      makeJob(jobId, {}, makeSpec({ tasks: [task("a"), task("b", "a"), task("c", "b")], target: undefined, retry: { ...makeSpec().retry, maxAttempts: 1 } })),
    );
    const run = makeRun(`run_dag_${seq}`, jobId, T0, { dueAt: T0, trigger: "redrive", taskResults });
    await harness.store.insertRuns([run]);
    return { run, base };
  };

  it("resumes a DAG from the tasks that already succeeded: their results stay as they were and they are not called again", async () => {
    const kept: TaskResultRecord = {
      taskId: "a",
      status: "succeeded",
      startedAt: T0 - 5000,
      finishedAt: T0 - 4000,
      error: "",
      attempts: [{ number: 1, startedAt: T0 - 5000, finishedAt: T0 - 4000, statusCode: 200, error: "", responseExcerpt: "earlier", durationMs: 1000 }],
    };
    const { run, base } = await dagRun([
      kept,
      { taskId: "b", status: "failed", attempts: [], error: "HTTP 500" },
      { taskId: "c", status: "skipped", attempts: [], error: "dependency b did not succeed" },
    ]);
    worker.submit(run, false);
    await worker.idle();
    const stored = await harness.store.getRun(run.runId);
    expect(stored!.status).toBe("succeeded");
    expect(stored!.taskResults[0]).toEqual(kept);
    expect(stored!.taskResults.map((r) => [r.taskId, r.status])).toEqual([
      ["a", "succeeded"],
      ["b", "succeeded"],
      ["c", "succeeded"],
    ]);
    expect(sink.deliveries.filter((d) => d.path.startsWith(`${base}/`)).map((d) => d.taskId)).toEqual(["b", "c"]);
  });

  it("shows a running task in the run's live state while the store still has the run as queued", async () => {
    const { run, base } = await dagRun([]);
    sink.reply((d) => (d.path === `${base}/a` ? { status: 200, delayMs: 30_000 } : { status: 200 }));
    expect(worker.live(run.runId)).toBeUndefined();
    worker.submit(run, false);
    await sink.waitFor((d) => d.path === `${base}/a`, 1, 3000);
    expect(worker.live(run.runId)).toMatchObject({
      status: "running",
      startedAt: T0,
      nodeId: "n1",
      taskResults: [
        { taskId: "a", status: "running", startedAt: T0 },
        { taskId: "b", status: "queued" },
        { taskId: "c", status: "queued" },
      ],
    });
    // No checkpoint yet (the fake clock stands still): only the live state knows.
    expect(await harness.store.getRun(run.runId)).toMatchObject({ status: "queued", taskResults: [] });
    worker.cancel(run.runId, "test over");
    await worker.idle();
    expect(worker.live(run.runId)).toBeUndefined();
    expect((await harness.store.getRun(run.runId))!.status).toBe("cancelled");
  });

  it("fails a scheduled run of a DAG whose task has neither a target nor a handler, naming why on the task", async () => {
    const { run, base } = await dagRun([]);
    const job = (await harness.store.getJob(run.jobId))!;
    const tasks = job.spec.tasks.map((t) => (t.taskId === "b" ? { ...t, target: undefined } : t));
    await harness.store.updateJob({ ...job, spec: { ...job.spec, tasks }, version: 2 }, 1);
    worker.submit({ ...run, jobVersion: 2 }, false);
    await worker.idle();
    const stored = (await harness.store.getRun(run.runId))!;
    expect(stored.status).toBe("failed");
    expect(stored.taskResults.map((r) => [r.taskId, r.status, r.error])).toEqual([
      ["a", "succeeded", ""],
      ["b", "failed", "neither a target nor a handler"],
      ["c", "skipped", "dependency b did not succeed"],
    ]);
    expect(sink.deliveries.filter((d) => d.path.startsWith(`${base}/`)).map((d) => d.taskId)).toEqual(["a"]);
  });
});
