import { fromJson, toJson, type JsonObject } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobSchema } from "../../gen/cronmesh/v1/job_pb.js";
import { RunSchema, type Run } from "../../gen/cronmesh/v1/run_pb.js";
import { clientsFor, type Clients } from "../harness/clients.js";
import { rest, startTestNode, type StoreKind, type TestNode } from "../harness/node.js";
import { startSink, type Sink } from "../harness/sink.js";

/** A run as both protocols show it: statuses as lower-case short names, times as ISO strings. */
interface RunView {
  runId: string;
  status: string;
  startedAt?: string;
  taskResults: { taskId: string; status: string; startedAt?: string }[];
}

/** A run change seen by a watcher, with when (real time) it arrived. */
type Seen = RunView & { at: number };

/** What these tests do through the API, once per protocol. */
interface Api {
  createJob(job: JsonObject): Promise<string>;
  trigger(jobId: string): Promise<string>;
  getRun(runId: string): Promise<RunView>;
  /** Streams the job's run changes into `seen` until the returned function is called. */
  watch(jobId: string, seen: Seen[]): Promise<() => void>;
}

const FINAL = ["succeeded", "failed", "skipped", "cancelled", "dead_lettered"];

/** The view of a run in proto JSON (Connect) or REST JSON, with proto field names. */
function viewOf(json: JsonObject): RunView {
  const status = (s: unknown) =>
    String(s)
      .replace(/^RUN_STATUS_/, "")
      .toLowerCase();
  const time = (t: unknown) => (typeof t === "string" ? t : undefined);
  const tasks = (json.task_results ?? []) as JsonObject[];
  return {
    runId: String(json.run_id),
    status: status(json.status),
    startedAt: time(json.started_at),
    taskResults: tasks.map((t) => ({ taskId: String(t.task_id), status: status(t.status), startedAt: time(t.started_at) })),
  };
}

function connectApi(c: Clients): Api {
  const view = (run: Run | undefined) => viewOf(toJson(RunSchema, run!, { useProtoFieldName: true }) as JsonObject);
  return {
    createJob: async (job) => (await c.cron.createJob({ job: fromJson(JobSchema, job) })).job!.jobId,
    trigger: async (jobId) => (await c.cron.triggerJob({ jobId })).runId,
    getRun: async (runId) => view((await c.runs.getRun({ runId })).run),
    async watch(jobId, seen) {
      const controller = new AbortController();
      void (async () => {
        for await (const msg of c.runs.watchRuns({ jobId }, { signal: controller.signal })) seen.push({ ...view(msg.run), at: Date.now() });
      })().catch(() => undefined);
      // The stream subscribes once the server has the call; a trigger sent right away could be missed.
      await new Promise((r) => setTimeout(r, 100));
      return () => controller.abort();
    },
  };
}

function restApi(baseUrl: string): Api {
  return {
    createJob: async (job) => (await rest(baseUrl, "POST", "/api/v1/cron/jobs", job)).body.job_id as string,
    trigger: async (jobId) => (await rest(baseUrl, "POST", `/api/v1/cron/jobs/${jobId}/trigger`, {})).body.run_id as string,
    async getRun(runId) {
      const res = await rest(baseUrl, "GET", `/api/v1/cron/runs/${runId}`);
      expect(res.status).toBe(200);
      return viewOf(res.body);
    },
    async watch(jobId, seen) {
      const controller = new AbortController();
      const res = await fetch(`${baseUrl}/api/v1/cron/watch/runs?job_id=${jobId}`, { signal: controller.signal });
      const reader = res.body!.getReader();
      void (async () => {
        let text = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          text += new TextDecoder().decode(value);
          const lines = text.split("\n");
          text = lines.pop()!;
          for (const line of lines.filter(Boolean)) seen.push({ ...viewOf(JSON.parse(line).run), at: Date.now() });
        }
      })().catch(() => undefined);
      return () => controller.abort();
    },
  };
}

/** Polls the run until it is final. */
async function waitFinal(api: Api, runId: string, timeoutMs = 10_000): Promise<RunView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await api.getRun(runId);
    if (FINAL.includes(run.status)) return run;
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${run.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const taskState = (run: RunView, taskId: string) => run.taskResults.find((t) => t.taskId === taskId);

describe.each<StoreKind>(["sqlite", "mongo"])("DAG execution and live run state on %s", (kind) => {
  let sink: Sink;
  let t: TestNode;
  let seq = 0;

  beforeAll(async () => {
    sink = await startSink();
    t = await startTestNode(kind);
  });
  afterAll(async () => {
    await t?.stop();
    await sink?.close();
  });

  describe.each(["connect", "rest"] as const)("over %s", (protocol) => {
    let api: Api;
    beforeAll(() => {
      api = protocol === "connect" ? connectApi(clientsFor(t.baseUrl)) : restApi(t.baseUrl);
    });

    /** A path of the sink of this test's own, and a DAG job calling it. */
    const dagJob = (tasks: [taskId: string, dependsOn: string[], path?: string][]) => {
      const base = `/dag-live/${kind}/${protocol}/${++seq}`;
      const job = {
        name: `dag ${seq}`,
        schedule: "0 0 1 1 *",
        tasks: tasks.map(([taskId, dependsOn, path]) => ({
          task_id: taskId,
          depends_on: dependsOn,
          target: { url: `${sink.url}${base}/${path ?? taskId}`, timeout: "10s" },
        })),
      };
      return { base, job, at: (path: string) => (d: { path: string }) => d.path === `${base}/${path}` };
    };

    it("starts a task as soon as its own dependency succeeded, not when an unrelated slow root ends", async () => {
      const { base, job, at } = dagJob([
        ["a", []],
        ["b", ["a"]],
        ["slow", []],
      ]);
      sink.reply((d) => (d.path === `${base}/slow` ? { status: 200, delayMs: 1500 } : { status: 200 }));
      const runId = await api.trigger(await api.createJob(job));
      const [slow] = await sink.waitFor(at("slow"), 1, 5000);
      const [b] = await sink.waitFor(at("b"), 1, 5000);
      // b leaves right after a, long before slow is answered.
      expect(b!.receivedAt - slow!.receivedAt).toBeLessThan(1000);
      const run = await waitFinal(api, runId);
      expect(run.taskResults.map((r) => [r.taskId, r.status])).toEqual([
        ["a", "succeeded"],
        ["slow", "succeeded"],
        ["b", "succeeded"],
      ]);
    });

    it("shows each DAG task as running from its start, in GetRun and in WatchRuns", async () => {
      const { base, job, at } = dagJob([
        ["a", []],
        ["b", ["a"]],
      ]);
      sink.reply((d) => (d.path.startsWith(`${base}/`) ? { status: 200, delayMs: 800 } : { status: 200 }));
      const jobId = await api.createJob(job);
      const seen: Seen[] = [];
      const stop = await api.watch(jobId, seen);
      try {
        const runId = await api.trigger(jobId);
        await sink.waitFor(at("a"), 1, 5000);
        const whileA = await api.getRun(runId);
        expect(whileA.status).toBe("running");
        expect(whileA.taskResults).toEqual([
          { taskId: "a", status: "running", startedAt: expect.any(String) },
          { taskId: "b", status: "queued" },
        ]);
        await sink.waitFor(at("b"), 1, 5000);
        const whileB = await api.getRun(runId);
        expect(whileB.taskResults.map((r) => [r.taskId, r.status])).toEqual([
          ["a", "succeeded"],
          ["b", "running"],
        ]);
        expect(Date.parse(taskState(whileB, "b")!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(taskState(whileA, "a")!.startedAt!));
        expect((await waitFinal(api, runId)).status).toBe("succeeded");
        // Each task's running state reached watchers when it started, not with its end.
        for (const task of ["a", "b"]) {
          const running = seen.find((r) => taskState(r, task)?.status === "running");
          const succeeded = seen.find((r) => taskState(r, task)?.status === "succeeded");
          expect(taskState(running!, task)!.startedAt).toBeDefined();
          expect(succeeded!.at - running!.at).toBeGreaterThanOrEqual(500);
        }
      } finally {
        stop();
      }
    });

    it("shows a run without tasks as running as soon as its request is out", async () => {
      const path = `/live-plain/${kind}/${protocol}/${++seq}`;
      sink.reply((d) => (d.path === path ? { status: 200, delayMs: 800 } : { status: 200 }));
      const jobId = await api.createJob({ name: `plain ${seq}`, schedule: "0 0 1 1 *", target: { url: `${sink.url}${path}`, timeout: "10s" } });
      const runId = await api.trigger(jobId);
      await sink.waitFor((d) => d.path === path, 1, 5000);
      const run = await api.getRun(runId);
      expect(run).toMatchObject({ status: "running", startedAt: expect.any(String) });
      expect((await waitFinal(api, runId)).status).toBe("succeeded");
    });

    it("sends a task's requests with the run's id, the task's id, and an idempotency key of their own", async () => {
      const { job, at } = dagJob([
        ["first", [], "shared"],
        ["second", [], "shared"],
      ]);
      sink.reply(() => ({ status: 200 }));
      const runId = await api.trigger(await api.createJob(job));
      expect((await waitFinal(api, runId)).status).toBe("succeeded");
      const got = sink.deliveries
        .filter(at("shared"))
        .map((d) => [d.headers["x-cronmesh-run-id"], d.headers["x-cronmesh-task-id"], d.headers["idempotency-key"]]);
      expect(got.sort()).toEqual([
        [runId, "first", `${runId}:first`],
        [runId, "second", `${runId}:second`],
      ]);
    });
  });
});
