import { createClient } from "@connectrpc/connect";
import { compressionGzip, createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CronService } from "../../gen/cronmesh/v1/cron_service_pb.js";
import { ConcurrencyPolicy } from "../../gen/cronmesh/v1/job_pb.js";
import { buildRoutes } from "../../src/api/rest/route-table.js";
import { SERVICES } from "../../src/api/routes.js";
import { rest, startTestNode, type StoreKind, type TestNode } from "../harness/node.js";
import { rpcJson, type JsonProtocol } from "../harness/rpc-json.js";
import { clientsFor, waitRun } from "../harness/clients.js";
import { RunStatus } from "../../gen/cronmesh/v1/run_pb.js";

const JOBS = "/api/v1/cron/jobs";
const valid = { name: "ok", schedule: "0 8 * * *", handler: "h" };

/** [case name, method, path, body, expected status, expected field] */
const CASES: [string, string, string, unknown, number, string][] = [
  ["an invalid cron expression", "POST", JOBS, { ...valid, schedule: "61 * * * *" }, 400, "schedule"],
  ["an impossible date", "POST", JOBS, { ...valid, schedule: "0 0 31 2 *" }, 400, "schedule"],
  ["a 7-field expression", "POST", JOBS, { ...valid, schedule: "0 0 0 * * * 2026" }, 400, "schedule"],
  ["an unknown macro", "POST", JOBS, { ...valid, schedule: "@fortnightly" }, 400, "schedule"],
  ["a hashed expression", "POST", JOBS, { ...valid, schedule: "H * * * *" }, 400, "schedule"],
  ["an unknown time zone", "POST", JOBS, { ...valid, timezone: "Mars/Olympus_Mons" }, 400, "timezone"],
  ["a missing name", "POST", JOBS, { schedule: "0 8 * * *", handler: "h" }, 400, "name"],
  ["a hand-run job's invalid task id", "POST", JOBS, { name: "x", tasks: [{ task_id: "no spaces" }] }, 400, "tasks[0].task_id"],
  ["both schedule and run_at", "POST", JOBS, { ...valid, run_at: "2030-01-01T00:00:00Z" }, 400, "schedule"],
  ["no target, handler or tasks", "POST", JOBS, { name: "x", schedule: "0 8 * * *" }, 400, "target"],
  ["an unknown field", "POST", JOBS, { ...valid, colour: "red" }, 400, "colour"],
  ["an unknown nested field", "POST", JOBS, { ...valid, retry: { max_tries: 3 } }, 400, "retry.max_tries"],
  ["a string where a bool belongs", "POST", JOBS, { ...valid, enabled: "yes" }, 400, "enabled"],
  ["an unknown enum value", "POST", JOBS, { ...valid, concurrency_policy: "sometimes" }, 400, "concurrency_policy"],
  ["a bad target URL", "POST", JOBS, { name: "x", schedule: "0 8 * * *", target: { url: "ftp://x" } }, 400, "target.url"],
  ["a negative duration", "POST", JOBS, { ...valid, max_jitter: "-5s" }, 400, "max_jitter"],
  ["a malformed duration", "POST", JOBS, { ...valid, max_jitter: "five seconds" }, 400, "max_jitter"],
  ["a malformed time", "POST", JOBS, { name: "x", run_at: "tomorrow", handler: "h" }, 400, "run_at"],
  ["a start deadline under a second", "POST", JOBS, { ...valid, start_deadline: "0.5s" }, 400, "start_deadline"],
  ["a start deadline over the longest catch-up window", "POST", JOBS, { ...valid, start_deadline: "700000s" }, 400, "start_deadline"],
  ["a fractional integer", "POST", JOBS, { ...valid, history_limit: 1.5 }, 400, "history_limit"],
  ["end_at before start_at", "POST", JOBS, { ...valid, start_at: "2030-01-02T00:00:00Z", end_at: "2030-01-01T00:00:00Z" }, 400, "end_at"],
  ["too many attempts", "POST", JOBS, { ...valid, retry: { max_attempts: 500 } }, 400, "retry.max_attempts"],
  [
    "a dependency cycle",
    "POST",
    JOBS,
    {
      name: "x",
      schedule: "0 8 * * *",
      tasks: [
        { task_id: "a", depends_on: ["b"], handler: "h" },
        { task_id: "b", depends_on: ["a"], handler: "h" },
      ],
    },
    400,
    "tasks",
  ],
  ["an unknown dependency", "POST", JOBS, { name: "x", schedule: "0 8 * * *", tasks: [{ task_id: "a", depends_on: ["zz"], handler: "h" }] }, 400, "tasks"],
  ["a malformed JSON body", "POST", JOBS, '{"name": ', 400, "body"],
  ["a JSON array body", "POST", JOBS, "[1,2]", 400, "body"],
  ["a negative limit", "GET", `${JOBS}?limit=-1`, undefined, 400, "limit"],
  ["a limit over the maximum", "GET", `${JOBS}?limit=100000`, undefined, 400, "limit"],
  ["a non-numeric page", "GET", `${JOBS}?page=two`, undefined, 400, "page"],
  ["an unknown query parameter", "GET", `${JOBS}?colour=red`, undefined, 400, "colour"],
  ["a forged page token", "GET", `${JOBS}?page_size=5&page_token=abc`, undefined, 400, "page_token"],
  ["page and cursor together", "GET", `${JOBS}?page=2&page_size=5`, undefined, 400, "page"],
  ["an unknown status filter", "GET", `${JOBS}?status=sleeping`, undefined, 400, "status"],
  ["a preview of an impossible date", "GET", "/api/v1/cron/schedule/preview?schedule=0%200%2031%202%20*", undefined, 400, "schedule"],
  ["a preview count over the maximum", "GET", "/api/v1/cron/schedule/preview?schedule=*%20*%20*%20*%20*&count=5000", undefined, 400, "count"],
  ["a negative run page size", "GET", "/api/v1/cron/runs?page_size=-3", undefined, 400, "page_size"],
  ["a negative offset", "GET", `${JOBS}?offset=-1`, undefined, 400, "offset"],
  ["offset and page together", "GET", "/api/v1/cron/runs?offset=5&page=2", undefined, 400, "offset"],
  ["a run limit with a cursor", "GET", "/api/v1/cron/runs?limit=5&page_size=5", undefined, 400, "page"],
  ["a run limit over the maximum", "GET", "/api/v1/cron/runs?limit=5000", undefined, 400, "limit"],
  ["a dead-letter offset with a cursor", "GET", "/api/v1/cron/dead-letters?offset=5&page_size=5", undefined, 400, "page"],
  ["an unknown run order", "GET", "/api/v1/cron/runs?order=sideways", undefined, 400, "order"],
  ["an unknown run trigger", "GET", "/api/v1/cron/runs?trigger=whim", undefined, 400, "trigger"],
  ["a malformed start time", "GET", "/api/v1/cron/runs?start_time=yesterday", undefined, 400, "start_time"],
  [
    "a time range that ends before it starts",
    "GET",
    "/api/v1/cron/runs?start_time=2030-01-02T00:00:00Z&end_time=2030-01-01T00:00:00Z",
    undefined,
    400,
    "end_time",
  ],
  ["too many recent runs", "GET", `${JOBS}/job_x?recent_runs=51`, undefined, 400, "recent_runs"],
  ["negative recent runs", "GET", `${JOBS}/job_x?recent_runs=-1`, undefined, 400, "recent_runs"],
  ["a trigger wait over five minutes", "POST", `${JOBS}/job_x/trigger?wait=6m`, {}, 400, "wait"],
  ["a malformed trigger wait", "POST", `${JOBS}/job_x/trigger?wait=soon`, {}, 400, "wait"],
  ["a negative trigger wait", "POST", `${JOBS}/job_x/trigger`, { wait: "-1s" }, 400, "wait"],
  ["a Go-style duration with garbage after it", "POST", JOBS, { ...valid, max_jitter: "5m later" }, 400, "max_jitter"],
  [
    "an excerpt limit over 64 KiB",
    "POST",
    JOBS,
    { name: "x", schedule: "0 8 * * *", target: { url: "http://example.com/", response_excerpt_bytes: 65537 } },
    400,
    "target.response_excerpt_bytes",
  ],
  ["a missing job on GET", "GET", `${JOBS}/job_missing`, undefined, 404, ""],
  ["a missing job on trigger", "POST", `${JOBS}/job_missing/trigger`, {}, 404, ""],
  ["a missing run", "GET", "/api/v1/cron/runs/run_missing", undefined, 404, ""],
];

describe("bad input gets a clear error naming the field, never a 5xx", () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode("sqlite");
  });
  afterAll(async () => {
    await t?.stop();
  });

  it.each(CASES)("%s (%s %s %j) answers %i naming %s", async (_name, method, path, body, status, field) => {
    const res = await rest(t.baseUrl, method, path, body);
    expect(res.status).toBe(status);
    expect(Object.keys(res.body).sort()).toEqual(["code", "field", "message"]);
    expect(res.body.field).toBe(field);
    if (field) expect(res.body.message).toContain(field.split(".").pop());
  });

  it("refuses a wrong media type with 415 and a body over 1 MiB with 413", async () => {
    const wrongType = await fetch(`${t.baseUrl}${JOBS}`, { method: "POST", headers: { "content-type": "text/plain" }, body: JSON.stringify(valid) });
    expect(wrongType.status).toBe(415);
    const big = JSON.stringify({ ...valid, description: "x".repeat(1024 * 1024 + 10) });
    const tooBig = await fetch(`${t.baseUrl}${JOBS}`, { method: "POST", headers: { "content-type": "application/json" }, body: big });
    expect(tooBig.status).toBe(413);
    expect((await tooBig.json()).code).toBe("resource_exhausted");
  });

  it("answers 409 to an update with a stale version", async () => {
    const id = (await rest(t.baseUrl, "POST", JOBS, valid)).body.job_id;
    expect((await rest(t.baseUrl, "PATCH", `${JOBS}/${id}`, { version: 1, description: "first" })).status).toBe(200);
    const stale = await rest(t.baseUrl, "PATCH", `${JOBS}/${id}`, { version: 1, description: "second" });
    expect(stale.status).toBe(409);
    expect(stale.body.code).toBe("aborted");
  });

  it("answers 404 for an unknown route and 405 for a wrong method", async () => {
    expect((await rest(t.baseUrl, "GET", "/api/v1/cron/nothing-here")).status).toBe(404);
    expect((await rest(t.baseUrl, "PATCH", "/api/v1/cron/cluster/status", {})).status).toBe(405);
  });

  it("never answers 5xx to garbage on any route of the table", async () => {
    const routes = buildRoutes(SERVICES);
    expect(routes.length).toBeGreaterThanOrEqual(28);
    for (const route of routes) {
      const path = route.path.replace(/\{[^}]+\}/g, "x_1");
      const body = route.body ? { bogus_field: 1 } : undefined;
      const res = await rest(t.baseUrl, route.verb, `${path}?also_bogus=1`, body);
      expect(res.status, `${route.verb} ${route.path}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${route.verb} ${route.path}`).toBeLessThan(500);
    }
    const health = await rest(t.baseUrl, "GET", "/health");
    expect(health.body.status).toBe("healthy");
  });
});

const CRON = "cronmesh.v1.CronService";
const RUNS = "cronmesh.v1.RunService";
const job = { name: "ok", schedule: "0 8 * * *", handler: "h" };

/** [case name, protocol, rpc, body, expected field] — each must answer invalid_argument naming the field. */
const RPC_CASES: [string, JsonProtocol, string, unknown, string][] = [
  ["an unknown job field", "connect-post", `${CRON}/CreateJob`, { job: { ...job, scheduel: "0 9 * * *" } }, "job.scheduel"],
  ["an unknown nested field", "connect-post", `${CRON}/CreateJob`, { job: { ...job, retry: { max_tries: 3 } } }, "job.retry.max_tries"],
  ["an unknown enum value", "connect-post", `${CRON}/CreateJob`, { job: { ...job, concurrency_policy: "sometimes" } }, "job.concurrency_policy"],
  ["an unknown enum number", "connect-post", `${CRON}/CreateJob`, { job: { ...job, misfirePolicy: 9 } }, "job.misfirePolicy"],
  ["a string where a bool belongs", "connect-post", `${CRON}/CreateJob`, { job: { ...job, enabled: "yes" } }, "job.enabled"],
  ["an unknown update field", "connect-post", `${CRON}/UpdateJob`, { job: { jobId: "j", colour: "red" } }, "job.colour"],
  ["a start deadline under a second", "connect-post", `${CRON}/CreateJob`, { job: { ...job, startDeadline: "0.2s" } }, "start_deadline"],
  ["an unknown job status filter", "connect-post", `${CRON}/ListJobs`, { status: "sleeping" }, "status"],
  ["an unknown run status filter", "connect-post", `${RUNS}/ListRuns`, { status: "exploded" }, "status"],
  ["an unknown request field", "connect-get", `${CRON}/GetJob`, { jobId: "j", colour: "red" }, "colour"],
  ["an unknown status filter", "connect-get", `${CRON}/ListJobs`, { status: "sleeping" }, "status"],
  ["an unknown field in a stream request", "connect-stream", `${RUNS}/WatchRuns`, { jobId: "j", colour: "red" }, "colour"],
  ["an unknown enum value", "grpc-web", `${CRON}/CreateJob`, { job: { ...job, misfire_policy: "never" } }, "job.misfire_policy"],
  ["an unknown field", "grpc-web", `${RUNS}/WatchRuns`, { jobId: "j", colour: "red" }, "colour"],
  ["an unknown enum value", "grpc", `${CRON}/CreateJob`, { job: { ...job, retry: { retry_on: "sometimes" } } }, "job.retry.retry_on"],
  ["an unknown field", "grpc", `${RUNS}/ListRuns`, { colour: "red" }, "colour"],
];

describe.each<StoreKind>(["sqlite", "mongo"])("JSON on the RPC protocols is read as REST reads it, on %s", (kind) => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode(kind);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it.each(RPC_CASES)("refuses %s over %s (%s %j) naming %s", async (_name, protocol, rpc, body, field) => {
    const res = await rpcJson(t.baseUrl, protocol, rpc, body);
    expect(res.code).toBe("invalid_argument");
    expect(res.field).toBe(field);
    expect(res.message).toContain(field);
  });

  it.each<JsonProtocol>(["connect-post", "grpc-web", "grpc"])("accepts the lower-case enum names REST accepts over %s", async (protocol) => {
    const policies = { concurrency_policy: "allow", misfire_policy: "skip", retry: { retry_on: "none" } };
    const created = await rpcJson(t.baseUrl, protocol, `${CRON}/CreateJob`, { job: { ...job, ...policies } });
    expect(created.code).toBe("ok");
    const got = await rpcJson(t.baseUrl, "connect-get", `${CRON}/GetJob`, { job_id: created.body.job.jobId });
    expect(got.body.job).toMatchObject({
      concurrencyPolicy: "CONCURRENCY_POLICY_ALLOW",
      misfirePolicy: "MISFIRE_POLICY_SKIP",
      retry: { retryOn: "RETRY_ON_NONE" },
    });
    const viaRest = await rest(t.baseUrl, "GET", `${JOBS}/${created.body.job.jobId}`);
    expect(viaRest.body).toMatchObject({ concurrency_policy: "allow", misfire_policy: "skip", retry: { retry_on: "none" } });
  });

  it("reads gzip-compressed JSON by the same rules, from raw requests and from real clients", async () => {
    const refused = await fetch(`${t.baseUrl}/${CRON}/CreateJob`, {
      method: "POST",
      headers: { "content-type": "application/json", "content-encoding": "gzip" },
      body: gzipSync(JSON.stringify({ job: { ...job, scheduel: "x" } })),
    });
    expect(refused.status).toBe(400);
    expect(refused.headers.get("cronmesh-field")).toBe("job.scheduel");
    const aliased = await fetch(`${t.baseUrl}/${CRON}/CreateJob`, {
      method: "POST",
      headers: { "content-type": "application/json", "content-encoding": "gzip" },
      body: gzipSync(JSON.stringify({ job: { ...job, concurrency_policy: "replace" } })),
    });
    expect(((await aliased.json()) as { job: { concurrencyPolicy: string } }).job.concurrencyPolicy).toBe("CONCURRENCY_POLICY_REPLACE");
    const compressed = { baseUrl: t.baseUrl, httpVersion: "1.1" as const, useBinaryFormat: false, sendCompression: compressionGzip, compressMinBytes: 0 };
    // useHttpGet: GetJob goes as a GET whose message is compressed and base64-encoded in the URL.
    const clients = [createConnectTransport(compressed), createConnectTransport({ ...compressed, useHttpGet: true }), createGrpcWebTransport(compressed)];
    for (const transport of clients) {
      const cron = createClient(CronService, transport);
      const { job: made } = await cron.createJob({ job: { ...job, concurrencyPolicy: ConcurrencyPolicy.ALLOW } });
      expect((await cron.getJob({ jobId: made!.jobId })).job!.concurrencyPolicy).toBe(ConcurrencyPolicy.ALLOW);
    }
  });

  it("filters ListJobs by a lower-case status over Connect POST, Connect GET and REST", async () => {
    const tag = `filter-${kind}`;
    await rpcJson(t.baseUrl, "connect-post", `${CRON}/CreateJob`, { job: { ...job, name: "on", tags: { t: tag } } });
    const paused = await rpcJson(t.baseUrl, "connect-post", `${CRON}/CreateJob`, { job: { ...job, name: "off", tags: { t: tag }, enabled: false } });
    const pausedId = paused.body.job.jobId as string;
    for (const protocol of ["connect-post", "connect-get"] as const) {
      const res = await rpcJson(t.baseUrl, protocol, `${CRON}/ListJobs`, { tag: `t=${tag}`, status: "paused" });
      expect(
        res.body.data.map((j: { jobId: string }) => j.jobId),
        protocol,
      ).toEqual([pausedId]);
    }
    const viaRest = await rest(t.baseUrl, "GET", `${JOBS}?tag=t%3D${tag}&status=paused`);
    expect(viaRest.body.data.map((j: { job_id: string }) => j.job_id)).toEqual([pausedId]);
  });

  it("filters ListRuns by a lower-case status over Connect and REST", async () => {
    const created = await rest(t.baseUrl, "POST", JOBS, { ...valid, name: "runs" });
    const jobId = created.body.job_id as string;
    const runId = (await rest(t.baseUrl, "POST", `${JOBS}/${jobId}/trigger`, {})).body.run_id as string;
    // The handler "h" is not configured, so the run ends at once; its final state is the filter.
    const final = await waitRun(clientsFor(t.baseUrl), runId);
    const status = RunStatus[final.status]!.toLowerCase();
    const other = status === "succeeded" ? "failed" : "succeeded";
    for (const [filter, expected] of [
      [status, [runId]],
      [other, []],
    ] as const) {
      const viaConnect = await rpcJson(t.baseUrl, "connect-post", `${RUNS}/ListRuns`, { job_id: jobId, status: filter });
      expect(
        (viaConnect.body.runs ?? []).map((r: { runId: string }) => r.runId),
        filter,
      ).toEqual(expected);
      const viaRest = await rest(t.baseUrl, "GET", `/api/v1/cron/runs?job_id=${jobId}&status=${filter}`);
      expect(
        viaRest.body.runs.map((r: { run_id: string }) => r.run_id),
        filter,
      ).toEqual(expected);
    }
  });
});
