import type { DescMethod } from "@bufbuild/protobuf";
import fc from "fast-check";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildRoutes, type Route } from "../../src/api/rest/route-table.js";
import { SERVICES } from "../../src/api/routes.js";
import { createLogger } from "../../src/telemetry/logger.js";
import { clientsFor, waitRun } from "../harness/clients.js";
import { judge } from "../harness/judge.js";
import { printable, rawCase, restCase, rpcCase, type FuzzCase, type Targets } from "../harness/malformed.js";
import { rest, startTestNode, type StoreKind, type TestNode } from "../harness/node.js";
import { createWireClient, type WireClient } from "../harness/wire.js";

/**
 * Malformed requests, generated from the route table and the service descriptors, on every REST
 * route and every RPC over every protocol, on both stores: none may get a 5xx (or a gRPC status
 * of the server's fault), every REST error is a JSON `{code, message, field}`, the node keeps
 * answering, logs no error, and afterwards still serves valid requests and holds its data.
 *
 * On failure fast-check prints the seed, the path and the shrunk request; replay one with
 * `FUZZ_SEED=<seed> FUZZ_PATH=<path> npx vitest run test/api/malformed-requests.test.ts -t '<test name>'`.
 * `FUZZ_SCALE=10` sends ten times as many.
 */

const ROUTES = buildRoutes(SERVICES);
const METHODS: DescMethod[] = SERVICES.flatMap((s) => s.methods);
/** Requests per store and kind; spread over the routes and RPCs there are, so new ones are covered and the run time stays put. */
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
const BUDGET = { rest: 2_500 * SCALE, rpc: 2_400 * SCALE, raw: 150 * SCALE };
const REST_RUNS = Math.ceil(BUDGET.rest / ROUTES.length);
const RPC_RUNS = Math.ceil(BUDGET.rpc / METHODS.length);
/** At least this many malformed requests per store (issue 17). */
const MIN_REQUESTS = 5_000;
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const PATH = process.env.FUZZ_PATH;

const routeName = (r: Route) => `${r.verb} ${r.path}`;
const rpcName = (m: DescMethod) => `${m.parent.typeName}/${m.name}`;

describe.each<StoreKind>(["sqlite", "mongo"])("malformed requests on %s", (kind) => {
  let t: TestNode;
  let wire: WireClient;
  let targets: Targets;
  /** Jobs no generated request names: they must read exactly the same after the run. */
  const kept = new Map<string, unknown>();
  /** A finished run of a job no generated request names. */
  let keptRun: { runId: string; jobId: string; status: number };
  const errorLogs: string[] = [];
  let sent = 0;
  let propertiesRun = 0;

  beforeAll(async () => {
    const sink = new Writable({ write: (line: Buffer, _enc, cb) => (errorLogs.push(line.toString()), cb()) });
    t = await startTestNode(kind, { log: createLogger("error", sink) });
    wire = createWireClient(t.baseUrl);
    targets = await createTargets(t.baseUrl);
    for (const job of [
      { name: "kept-1", schedule: "0 8 * * *", handler: "h", tags: { team: "a" }, start_at: "2099-01-01T00:00:00Z" },
      { name: "kept-2", description: "with $where and \u00e9", schedule: "*/5 * * * *", target: { url: "http://127.0.0.1:9/kept" }, enabled: false },
    ]) {
      const created = await rest(t.baseUrl, "POST", "/api/v1/cron/jobs", job);
      expect(created.status).toBe(200);
      kept.set(created.body.job_id as string, created.body);
    }
    keptRun = await finishedRun(t.baseUrl, { name: "kept-run", schedule: "0 8 * * *", start_at: "2099-01-01T00:00:00Z", handler: "h" });
    console.log(`malformed requests on ${kind}: seed ${SEED}`);
  });
  afterAll(async () => {
    await wire?.close();
    await t?.stop();
  });

  /** Runs one property over generated cases; the report names the seed, the path and the request. */
  async function fuzz(arb: fc.Arbitrary<FuzzCase>, numRuns: number, name: string): Promise<void> {
    const property = fc.asyncProperty(printable(arb), async (c) => {
      sent++;
      const res = await wire.send(c.request);
      const why = judge(c, res);
      if (why) throw new Error(why);
    });
    const out = await fc.check(property, { numRuns, seed: SEED, ...(PATH ? { path: PATH } : {}) });
    if (out.failed) {
      const replay = `replay: FUZZ_SEED=${out.seed} FUZZ_PATH=${out.counterexamplePath} npx vitest run test/api/malformed-requests.test.ts -t '${kind}.*${name}'`;
      throw new Error(`${fc.defaultReportMessage(out)}\nanswer: ${String((out.errorInstance as Error)?.message ?? out.errorInstance)}\n${replay}`);
    }
    const health = await wire.send({ transport: "h1", method: "GET", path: "/health", headers: {}, body: new Uint8Array() });
    expect(health.status, "the node still answers /health").toBe(200);
    propertiesRun++;
  }

  it.each(ROUTES.map((r) => [routeName(r), r] as const))(
    `REST %s`,
    async (name, route) => {
      await fuzz(restCase(route, targets), REST_RUNS, name);
    },
    120_000,
  );

  it.each(METHODS.map((m) => [rpcName(m), m] as const))(
    `RPC %s`,
    async (name, method) => {
      await fuzz(rpcCase(method, targets), RPC_RUNS, name);
    },
    120_000,
  );

  it("raw connections", async () => {
    await fuzz(rawCase(ROUTES.map((r) => r.path.replace(/\{[^}]+\}/g, targets.jobId))), BUDGET.raw, "raw connections");
  }, 120_000);

  it("still serves valid requests and holds its data afterwards", async () => {
    console.log(`malformed requests on ${kind}: ${sent} sent`);
    if (propertiesRun === ROUTES.length + METHODS.length + 1) expect(sent).toBeGreaterThanOrEqual(MIN_REQUESTS);
    for (const [id, before] of kept) expect((await rest(t.baseUrl, "GET", `/api/v1/cron/jobs/${id}`)).body).toEqual(before);
    const c = clientsFor(t.baseUrl);
    // Whatever odd but valid data the run stored (NULs, operator keys, huge tags) reads back, one job at a time and in lists.
    const jobs = await everyJob(c);
    for (const id of kept.keys()) expect(jobs).toContain(id);
    for (const id of jobs) expect((await rest(t.baseUrl, "GET", `/api/v1/cron/jobs/${id}`)).status, id).toBe(200);
    let runs = 0;
    for (let token = "", pages = 0; pages < 100; pages++) {
      const page = await c.runs.listRuns({ pageSize: 500, pageToken: token });
      runs += page.runs.length;
      if (!(token = page.nextPageToken)) break;
    }
    expect(runs).toBeGreaterThan(0);
    const { job } = await c.cron.createJob({ job: { name: "after", schedule: "0 8 * * *", handler: "h" } });
    expect((await c.cron.getJob({ jobId: job!.jobId })).job!.name).toBe("after");
    expect((await rest(t.baseUrl, "PATCH", `/api/v1/cron/jobs/${job!.jobId}`, { description: "still writable" })).status).toBe(200);
    expect((await rest(t.baseUrl, "DELETE", `/api/v1/cron/jobs/${job!.jobId}`)).status).toBe(200);
    const { run } = await c.runs.getRun({ runId: keptRun.runId });
    expect({ runId: run!.runId, jobId: run!.jobId, status: run!.status }).toEqual(keptRun);
    expect(errorLogs, "error log lines").toEqual([]);
  });
});

/** The ids of every job, paged through over Connect. */
async function everyJob(c: ReturnType<typeof clientsFor>): Promise<string[]> {
  const ids: string[] = [];
  for (let token = "", pages = 0; pages < 100; pages++) {
    const page = await c.cron.listJobs({ pageSize: 500, pageToken: token });
    ids.push(...page.data.map((j) => j.jobId));
    if (!(token = page.nextPageToken)) break;
  }
  return ids;
}

/** A job with a task and a finished run, for the ids that generated requests use. */
async function createTargets(baseUrl: string): Promise<Targets> {
  const target = {
    name: "fuzz-target",
    schedule: "0 8 * * *",
    start_at: "2099-01-01T00:00:00Z",
    tasks: [{ task_id: "t1", target: { url: "http://127.0.0.1:9/fuzz" } }],
  };
  const { runId, jobId } = await finishedRun(baseUrl, target);
  return { jobId, runId, taskId: "t1" };
}

/** Creates the job, triggers it once and waits until that run is final. */
async function finishedRun(baseUrl: string, job: object): Promise<{ runId: string; jobId: string; status: number }> {
  const created = await rest(baseUrl, "POST", "/api/v1/cron/jobs", job);
  expect(created.status).toBe(200);
  const jobId = created.body.job_id as string;
  expect((await rest(baseUrl, "POST", `/api/v1/cron/jobs/${jobId}/trigger`, {})).status).toBe(200);
  const runs = await rest(baseUrl, "GET", `/api/v1/cron/jobs/${jobId}/runs`);
  const runId = (runs.body.runs as { run_id: string }[])[0]!.run_id;
  const run = await waitRun(clientsFor(baseUrl), runId);
  return { runId, jobId, status: run.status };
}
