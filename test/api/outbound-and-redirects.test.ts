import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { LookupFunction } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobSchema, RetryOn, type Job } from "../../gen/cronmesh/v1/job_pb.js";
import { RunStatus } from "../../gen/cronmesh/v1/run_pb.js";
import { clientsFor, waitRun, type Clients } from "../harness/clients.js";
import { rest, startTestNode, type StoreKind, type TestNode } from "../harness/node.js";
import { startSink, type Sink } from "../harness/sink.js";

const JOBS = "/api/v1/cron/jobs";

/** A resolver stub: each name of the table resolves to its one address. */
function stubLookup(table: Record<string, string>): LookupFunction {
  return (hostname, options, callback) => {
    const address = table[hostname];
    if (!address) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" }), "", 4);
    if (options.all) return callback(null, [{ address, family: 4 }]);
    callback(null, address, 4);
  };
}

/** The InvalidArgument message of a Connect call that must fail. */
async function invalid(call: Promise<unknown>): Promise<string> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  expect(err?.code).toBe(Code.InvalidArgument);
  return err!.rawMessage;
}

describe.each<StoreKind>(["sqlite", "mongo"])("outbound policy and redirects on %s", (kind) => {
  let sink: Sink;
  let t: TestNode;
  let c: Clients;
  let port: number;
  let seq = 0;

  beforeAll(async () => {
    sink = await startSink();
    port = Number(new URL(sink.url).port);
    // The sink's loopback address is denied by configuration; names reach it through the stub,
    // and allowed.test is an exception the operator trusts.
    t = await startTestNode(kind, {
      env: { OUTBOUND_DENY: "127.0.0.1", OUTBOUND_ALLOW: "allowed.test" },
      lookup: stubLookup({ "sink.test": "127.0.0.1", "allowed.test": "127.0.0.1", "rebind.test": "169.254.169.254" }),
    });
    c = clientsFor(t.baseUrl);
  });
  afterAll(async () => {
    await t?.stop();
    await sink?.close();
  });

  const at = (host: string, path: string) => `http://${host}:${port}${path}`;
  /** A job calling `url`, with 3 attempts allowed (a refusal must still make only one). */
  const job = (url: string, followRedirects = false): Job =>
    create(JobSchema, {
      name: `outbound ${++seq}`,
      schedule: "0 0 1 1 *",
      target: { url, followRedirects, timeout: durationFromMs(5000) },
      retry: { maxAttempts: 3, initialBackoff: durationFromMs(10), maxBackoff: durationFromMs(10), multiplier: 1, retryOn: RetryOn.ALWAYS },
    });
  const runOf = async (spec: Job) => {
    const { job: created } = await c.cron.createJob({ job: spec });
    const { runId } = await c.cron.triggerJob({ jobId: created!.jobId });
    const run = await waitRun(c, runId);
    const overRest = await rest(t.baseUrl, "GET", `/api/v1/cron/runs/${runId}`);
    return { created: created!, run, overRest: overRest.body.run ?? overRest.body };
  };

  it("refuses at create a target at a denied address, over REST and Connect, naming the field", async () => {
    const base = { name: "denied", schedule: "0 8 * * *" };
    const cases: [unknown, string, string][] = [
      [{ ...base, target: { url: at("127.0.0.1", "/x") } }, "target.url", "outbound policy: 127.0.0.1 denied"],
      [{ ...base, target: { url: "http://169.254.169.254/latest/meta-data/" } }, "target.url", "outbound policy: 169.254.169.254 denied"],
      [{ ...base, target: { url: "http://[fd00:ec2::254]/" } }, "target.url", "outbound policy: [fd00:ec2::254] denied"],
      [{ ...base, target: { url: "http://metadata.google.internal/computeMetadata/v1/" } }, "target.url", "outbound policy: metadata.google.internal denied"],
      [
        {
          ...base,
          tasks: [
            { task_id: "a", target: { url: at("sink.test", "/a") } },
            { task_id: "b", target: { url: "http://169.254.169.254/" } },
          ],
        },
        "tasks[1].target.url",
        "outbound policy: 169.254.169.254 denied",
      ],
    ];
    for (const [body, field, message] of cases) {
      const res = await rest(t.baseUrl, "POST", JOBS, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body).toMatchObject({ code: "invalid_argument", field });
      expect(res.body.message).toContain(message);
    }
    expect(await invalid(c.cron.createJob({ job: job(at("127.0.0.1", "/x")) }))).toContain("target.url: outbound policy: 127.0.0.1 denied");
    expect(await invalid(c.cron.createJob({ job: job("http://0.0.0.0/") }))).toContain("outbound policy: 0.0.0.0 denied");
  });

  it("refuses at update a target at a denied address, over REST and Connect", async () => {
    const { job: created } = await c.cron.createJob({ job: job(at("sink.test", "/update")) });
    const id = created!.jobId;
    const patched = await rest(t.baseUrl, "PATCH", `${JOBS}/${id}`, { target: { url: "http://169.254.169.254/" } });
    expect(patched.status).toBe(400);
    expect(patched.body).toMatchObject({ field: "target.url" });
    const next = create(JobSchema, { ...created!, target: { ...created!.target!, url: at("127.0.0.1", "/update") } });
    expect(await invalid(c.cron.updateJob({ job: next }))).toContain("outbound policy: 127.0.0.1 denied");
    const task = await rest(t.baseUrl, "POST", `${JOBS}/${id}/tasks`, { task_id: "t", target: { url: "http://169.254.1.1/" } });
    expect(task.status).toBe(400);
    expect(task.body.field).toBe("tasks[0].target.url");
    expect(await invalid(c.cron.addTask({ jobId: id, task: { taskId: "t", target: { url: at("127.0.0.1", "/t") } } }))).toContain(
      "outbound policy: 127.0.0.1 denied",
    );
    const { job: unchanged } = await c.cron.getJob({ jobId: id });
    expect(unchanged!.version).toBe(1n);
  });

  it("refuses at call time a name that resolves into a denied range, at once and without retrying", async () => {
    for (const [host, address] of [
      ["sink.test", "127.0.0.1"],
      ["rebind.test", "169.254.169.254"],
    ]) {
      const path = `/resolved/${host}`;
      const { run, overRest } = await runOf(job(at(host!, path)));
      const error = `outbound policy: ${address} denied (resolved from ${host})`;
      expect(run.status).toBe(RunStatus.FAILED);
      expect(run.attempts.map((a) => [a.number, a.statusCode, a.error])).toEqual([[1, 0, error]]);
      expect(run.error).toBe(error);
      expect(overRest).toMatchObject({ status: "failed", error, attempts: [{ number: 1, error }] });
      expect(sink.deliveries.filter((d) => d.path === path)).toEqual([]);
    }
  });

  it("calls a name the operator allowed, though it resolves into a denied range", async () => {
    const { run } = await runOf(job(at("allowed.test", "/allowed")));
    expect(run.status).toBe(RunStatus.SUCCEEDED);
    expect(sink.deliveries.filter((d) => d.path === "/allowed").map((d) => d.headers.host)).toEqual([`allowed.test:${port}`]);
  });

  it("keeps follow_redirects on the job, over REST and Connect", async () => {
    const { created } = await runOf(job(at("allowed.test", "/kept"), true));
    expect(created.target!.followRedirects).toBe(true);
    expect((await c.cron.getJob({ jobId: created.jobId })).job!.target!.followRedirects).toBe(true);
    const overRest = await rest(t.baseUrl, "GET", `${JOBS}/${created.jobId}`);
    expect(overRest.body.target.follow_redirects).toBe(true);
    const viaRest = await rest(t.baseUrl, "POST", JOBS, {
      name: "rest",
      schedule: "0 8 * * *",
      target: { url: at("allowed.test", "/r"), follow_redirects: true },
    });
    expect(viaRest.status).toBe(200);
    expect(viaRest.body.target.follow_redirects).toBe(true);
    const off = await rest(t.baseUrl, "PATCH", `${JOBS}/${viaRest.body.job_id}`, { target: { url: at("allowed.test", "/r"), follow_redirects: false } });
    expect(off.status, JSON.stringify(off.body)).toBe(200);
    expect((await c.cron.getJob({ jobId: viaRest.body.job_id })).job!.target!.followRedirects).toBe(false);
  });

  it("follows a redirect only when the target asks, and records the final answer", async () => {
    sink.reply((d) =>
      d.path === "/moved" ? { status: 302, body: "see /final", headers: { location: "/moved/final" } } : { status: 200, body: `final ${d.method}` },
    );
    try {
      const followed = await runOf(job(at("allowed.test", "/moved"), true));
      expect(followed.run.status).toBe(RunStatus.SUCCEEDED);
      expect(followed.run.attempts.map((a) => [a.number, a.statusCode, a.responseExcerpt, a.error])).toEqual([[1, 200, "final GET", ""]]);
      const notFollowed = await runOf(job(at("allowed.test", "/moved")));
      // A 3xx is a failure unless listed in success_codes, and not a transient one: retry_on always retries it.
      expect(notFollowed.run.status).toBe(RunStatus.FAILED);
      expect(notFollowed.run.attempts.map((a) => [a.statusCode, a.error])).toEqual([
        [302, "HTTP 302"],
        [302, "HTTP 302"],
        [302, "HTTP 302"],
      ]);
    } finally {
      sink.reply(() => ({ status: 200, body: "ok" }));
    }
  });

  it("checks every redirect hop against the policy", async () => {
    sink.reply((d) => (d.path === "/hop" ? { status: 307, headers: { location: at("127.0.0.1", "/hop/denied") } } : { status: 200 }));
    try {
      const { run } = await runOf(job(at("allowed.test", "/hop"), true));
      const error = "outbound policy: 127.0.0.1 denied after 1 redirect";
      expect(run.status).toBe(RunStatus.FAILED);
      expect(run.attempts.map((a) => [a.statusCode, a.error])).toEqual([[0, error]]);
      expect(sink.deliveries.filter((d) => d.path === "/hop/denied")).toEqual([]);
    } finally {
      sink.reply(() => ({ status: 200, body: "ok" }));
    }
  });
});
