import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { Cancellation } from "../../src/domain/cancellation.js";
import type { HttpTargetSpec, RetrySpec, TaskSpec } from "../../src/domain/job.js";
import type { TaskResultRecord } from "../../src/domain/run.js";
import { createHttpClient, type HttpClient } from "../../src/executor/http-client.js";
import { createSecretSource } from "../../src/executor/secrets.js";
import type { AttemptLoopDeps } from "../../src/executor/attempt-loop.js";
import { runDag, type DagInput } from "../../src/executor/dag-execution.js";
import { startSink, type Sink } from "../harness/sink.js";
import { createFakeClock, type FakeClock } from "../support/fake-clock.js";

const T0 = Date.parse("2026-03-01T12:00:00Z");
/** Long enough that a test never sees it end unless it waits for it: such a task is cancelled. */
const SLOW_MS = 30_000;
const NO_RETRY: RetrySpec = { maxAttempts: 1, initialBackoffMs: 10, maxBackoffMs: 10, multiplier: 1, retryOn: "on_failure" };

describe("DAG execution (fake clock, loopback sink)", () => {
  let sink: Sink;
  let http: HttpClient;
  let clock: FakeClock;
  let deps: AttemptLoopDeps;
  let seq = 0;
  let base = "";

  beforeAll(async () => {
    sink = await startSink();
  });
  afterAll(async () => {
    await sink.close();
  });
  beforeEach(() => {
    clock = createFakeClock(T0);
    http = createHttpClient({ clock, connectionsPerOrigin: 8 });
    deps = { http, secrets: createSecretSource({}), now: clock.now, clock };
    base = `/dag-unit/${++seq}`;
    sink.reply(() => ({ status: 200, body: "ok" }));
    return () => http.close();
  });

  const target = (taskId: string): HttpTargetSpec => ({
    url: `${sink.url}${base}/${taskId}`,
    method: "POST",
    headers: {},
    body: "",
    timeoutMs: 60_000,
    successCodes: [],
    auth: undefined,
  });
  const task = (taskId: string, ...dependsOn: string[]): TaskSpec => ({ taskId, name: taskId, dependsOn, target: target(taskId), handler: "" });
  const at = (taskId: string) => (d: { path: string }) => d.path === `${base}/${taskId}`;
  /** Starts a DAG run; `published` holds every state it reported. */
  const start = (tasks: TaskSpec[], extra: Partial<DagInput> = {}) => {
    const signal = new Cancellation();
    const published: TaskResultRecord[][] = [];
    const input: DagInput = {
      tasks,
      targetOf: (t) => t.target ?? `handler ${JSON.stringify(t.handler)} not configured`,
      retry: NO_RETRY,
      runId: "run_dag",
      jobId: "j_dag",
      scheduledAt: T0,
      nodeId: "n1",
      signal,
      previous: [],
      onProgress: async (results) => void published.push(results),
      ...extra,
    };
    return { done: runDag(deps, input), signal, published };
  };
  const statuses = (results: TaskResultRecord[]) => Object.fromEntries(results.map((r) => [r.taskId, r.status]));
  /** Waits until the run reported these task states (real time: the sink answers in real time). */
  const reached = (run: { published: TaskResultRecord[][] }, expected: Record<string, string>) =>
    vi.waitFor(() => expect(statuses(run.published.at(-1) ?? [])).toEqual(expected), { timeout: 3000, interval: 5 });

  it("starts a task as soon as its own dependency succeeded, while an unrelated root still runs", async () => {
    sink.reply((d) => (at("slow")(d) ? { status: 200, delayMs: SLOW_MS } : { status: 200 }));
    const run = start([task("a"), task("b", "a"), task("slow")]);
    try {
      await reached(run, { a: "succeeded", slow: "running", b: "succeeded" });
    } finally {
      run.signal.cancel();
    }
    const result = await run.done;
    expect(statuses(result.taskResults)).toEqual({ a: "succeeded", slow: "cancelled", b: "succeeded" });
  });

  it("reports a task as running, with its start time, before its request is answered", async () => {
    sink.reply((d) => (at("a")(d) ? { status: 200, delayMs: SLOW_MS } : { status: 200 }));
    const run = start([task("a"), task("b", "a")]);
    try {
      await sink.waitFor(at("a"), 1, 3000);
      expect(run.published.at(-1)).toEqual([
        { taskId: "a", status: "running", attempts: [], startedAt: T0, error: "" },
        { taskId: "b", status: "queued", attempts: [], error: "" },
      ]);
    } finally {
      run.signal.cancel();
    }
    expect(statuses((await run.done).taskResults)).toEqual({ a: "cancelled", b: "cancelled" });
  });

  it("keeps the results of tasks that already succeeded and runs only the others", async () => {
    const kept: TaskResultRecord = {
      taskId: "a",
      status: "succeeded",
      startedAt: T0 - 5000,
      finishedAt: T0 - 4000,
      error: "",
      attempts: [{ number: 2, startedAt: T0 - 4500, finishedAt: T0 - 4000, statusCode: 200, error: "", responseExcerpt: "first time", durationMs: 500 }],
    };
    const failed: TaskResultRecord = { taskId: "b", status: "failed", attempts: [], error: "HTTP 500" };
    const skipped: TaskResultRecord = { taskId: "c", status: "skipped", attempts: [], error: "dependency b did not succeed" };
    const result = await start([task("a"), task("b", "a"), task("c", "b")], { previous: [kept, failed, skipped] }).done;
    expect(result.ok).toBe(true);
    expect(result.taskResults[0]).toEqual(kept);
    expect(statuses(result.taskResults)).toEqual({ a: "succeeded", b: "succeeded", c: "succeeded" });
    expect(sink.deliveries.filter((d) => d.path.startsWith(`${base}/`)).map((d) => d.taskId)).toEqual(["b", "c"]);
  });

  it("sends the run id as the run id, the task in its own header, and a distinct idempotency key per task", async () => {
    const shared = { ...target("shared") };
    const result = await start([
      { ...task("first"), target: shared },
      { ...task("second"), target: shared },
    ]).done;
    expect(result.ok).toBe(true);
    const got = sink.deliveries.filter(at("shared"));
    expect(got.map((d) => [d.headers["x-cronmesh-run-id"], d.headers["x-cronmesh-task-id"], d.headers["idempotency-key"]]).sort()).toEqual([
      ["run_dag", "first", "run_dag:first"],
      ["run_dag", "second", "run_dag:second"],
    ]);
  });

  it("fails a task without a target at once and skips its dependants", async () => {
    const result = await start([{ ...task("a"), target: undefined, handler: "nobody" }, task("b", "a"), task("c", "b"), task("d")]).done;
    expect(statuses(result.taskResults)).toEqual({ a: "failed", d: "succeeded", b: "skipped", c: "skipped" });
    expect(result).toMatchObject({ ok: false, cancelled: false, error: 'task a failed: handler "nobody" not configured' });
  });

  it("starts no task once the run is cancelled: those not started end cancelled", async () => {
    sink.reply((d) => (at("a")(d) ? { status: 200, delayMs: SLOW_MS } : { status: 200 }));
    const run = start([task("a"), task("b", "a"), task("c")]);
    try {
      await reached(run, { a: "running", c: "succeeded", b: "queued" });
    } finally {
      run.signal.cancel();
    }
    const result = await run.done;
    expect(result).toMatchObject({ ok: false, cancelled: true });
    expect(statuses(result.taskResults)).toEqual({ a: "cancelled", c: "succeeded", b: "cancelled" });
    expect(result.taskResults.find((r) => r.taskId === "b")!.error).toMatch(/before the task started/);
    expect(sink.deliveries.some(at("b"))).toBe(false);
  });
});
