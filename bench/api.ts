// API throughput benchmark (npm run bench:api). Not part of npm test; stops by itself.
//
// One node (compiled, in a child process, embedded SQLite store with BENCH_JOBS jobs stored,
// 100,000 by default) under 50 connections: autocannon for HTTP/1.1 (Connect with JSON and with
// binary protobuf, REST, /health), and a loop of gRPC calls (50 in flight, on 5 HTTP/2
// connections; see BENCH_GRPC_CLIENT). Every figure is stated as a ratio to /health on the same server in the
// same run, measured first and last (absolute figures drift by ±30% on a shared machine), with
// the node's CPU time per request (µs), which drifts less.
//
// BENCH_AUTH (default "none,api_key,jwt"): the authentication modes, one node each; api_key and
// jwt run with the rate limiter on (RATE_LIMIT_RPS high enough never to refuse), so that the
// access interceptors' whole cost shows. BENCH_SECONDS (default 8) per load, after a 2 s warm-up.
// BENCH_ONLY: a comma-separated subset of scenario names. BENCH_PROFILE=prefix writes a V8 CPU
// profile of the node per scenario (prefix-mode-scenario.cpuprofile). BENCH_JSON=file writes
// the results. BENCH_GRPC_CLIENT (default "raw"): the gRPC load's client, a bare http2 client, or
// "connect" (connect-node's transport, which costs the load generator so much on a shared
// 2-core machine that the node idles and its CPU per request is inflated by the contention);
// BENCH_GRPC_STREAMS (default 10): concurrent calls per gRPC connection, 50 in all. "floor grpc" and "floor grpc
// compat" are the same gRPC load against a bare node http2 server answering an empty message
// (bench/grpc-floor-process.mjs, stream API and compat API): what a gRPC call costs a node at
// the least on this machine.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { GetJobRequestSchema } from "../gen/cronmesh/v1/cron_service_pb.js";
import { makeApiKey, makeJwt } from "../deploy/make-token.js";
import { grpcLoad, httpLoad, startNodeProcess, type GrpcCall, type GrpcClientKind, type HttpLoad, type LoadResult, type NodeProcess } from "./api-load.js";
import { startSink } from "./loopback.js";
import { seedJobs } from "./seed.js";

const service = process.env.BENCH_SOURCE === "1" ? "../src" : "../dist/src";
const { createSqliteStore } = (await import(`${service}/store/sqlite/sqlite-store.js`)) as typeof import("../src/store/sqlite/sqlite-store.js");

const JOBS = Number(process.env.BENCH_JOBS ?? 100_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const WARM_UP_SECONDS = 2;
const CONNECTIONS = 50;
const MODES = (process.env.BENCH_AUTH ?? "none,api_key,jwt").split(",").map((m) => m.trim());
const ONLY = process.env.BENCH_ONLY?.split(",").map((s) => s.trim());
const PROFILE = process.env.BENCH_PROFILE;
const GRPC_CLIENT = (process.env.BENCH_GRPC_CLIENT ?? "raw") as GrpcClientKind;
const GRPC_STREAMS = Number(process.env.BENCH_GRPC_STREAMS ?? 10);
/** Offset pages of ListJobs land anywhere in the stored jobs. */
const PAGE_SIZE = 20;

const CRON = "/cronmesh.v1.CronService";
const JSON_TYPE = { "content-type": "application/json" };

interface Scenario {
  name: string;
  /** Run in every authentication mode (else only without authentication). */
  everyMode?: boolean;
  http?: HttpLoad;
  grpc?: GrpcCall;
  /** Run against a bare http2 server (bench/grpc-floor-process.mjs) with this API, not the node. */
  floor?: "stream" | "compat";
}

/** The scenarios, in the order they run; /health runs first and last. */
function scenarios(ids: string[], sinkUrl: string, auth: Record<string, string>): Scenario[] {
  const randomId = () => ids[Math.floor(Math.random() * ids.length)]!;
  const randomPage = () => 1 + Math.floor(Math.random() * Math.floor(ids.length / PAGE_SIZE));
  const json = { ...JSON_TYPE, ...auth };
  const proto = { "content-type": "application/proto", ...auth };
  const protoBodies = Array.from({ length: 4096 }, () => Buffer.from(toBinary(GetJobRequestSchema, create(GetJobRequestSchema, { jobId: randomId() }))));
  let created = 0;
  const newJob = () => ({ name: `api bench ${++created}`, schedule: "0 0 3 * * *", target: { url: `${sinkUrl}/api` } });
  const options = { headers: auth };
  return [
    { name: "health", everyMode: true, http: { method: "GET", path: "/health" } },
    // A unary RPC with nothing behind it: what Connect and the interceptors cost by themselves.
    { name: "Health.Check connect", http: { method: "POST", path: "/grpc.health.v1.Health/Check", headers: json, body: "{}" } },
    {
      name: "GetJob connect",
      everyMode: true,
      http: { method: "POST", path: `${CRON}/GetJob`, headers: json, next: () => ({ body: JSON.stringify({ jobId: randomId() }) }) },
    },
    {
      name: "GetJob connect-proto",
      http: { method: "POST", path: `${CRON}/GetJob`, headers: proto, next: () => ({ body: protoBodies[Math.floor(Math.random() * protoBodies.length)]! }) },
    },
    {
      name: "GetJob rest",
      everyMode: true,
      http: { method: "GET", path: "/api/v1/cron/jobs/x", headers: auth, next: () => ({ path: `/api/v1/cron/jobs/${randomId()}` }) },
    },
    { name: "GetJob grpc", everyMode: true, grpc: (c) => c.getJob({ jobId: randomId() }, options) },
    {
      name: "ListJobs connect",
      everyMode: true,
      http: { method: "POST", path: `${CRON}/ListJobs`, headers: json, body: JSON.stringify({ limit: PAGE_SIZE }) },
    },
    { name: "ListJobs rest", everyMode: true, http: { method: "GET", path: `/api/v1/cron/jobs?limit=${PAGE_SIZE}`, headers: auth } },
    { name: "ListJobs grpc", grpc: (c) => c.listJobs({ limit: PAGE_SIZE }, options) },
    { name: "ListJobs connect cursor", http: { method: "POST", path: `${CRON}/ListJobs`, headers: json, body: JSON.stringify({ pageSize: PAGE_SIZE }) } },
    {
      name: "ListJobs connect any page",
      http: { method: "POST", path: `${CRON}/ListJobs`, headers: json, next: () => ({ body: JSON.stringify({ limit: PAGE_SIZE, page: randomPage() }) }) },
    },
    {
      name: "CreateJob connect",
      everyMode: true,
      http: { method: "POST", path: `${CRON}/CreateJob`, headers: json, next: () => ({ body: JSON.stringify({ job: newJob() }) }) },
    },
    { name: "CreateJob rest", http: { method: "POST", path: "/api/v1/cron/jobs", headers: json, next: () => ({ body: JSON.stringify(newJob()) }) } },
    { name: "CreateJob grpc", grpc: (c) => c.createJob({ job: newJob() }, options) },
    { name: "floor grpc", grpc: (c) => c.getJob({ jobId: "x" }), floor: "stream" },
    { name: "floor grpc compat", grpc: (c) => c.getJob({ jobId: "x" }), floor: "compat" },
    { name: "health", everyMode: true, http: { method: "GET", path: "/health" } },
  ];
}

/** The node's environment and the client's credentials for one authentication mode. */
async function authSetup(mode: string, dir: string): Promise<{ env: Record<string, string>; headers: Record<string, string> }> {
  // High enough never to refuse: only the limiter's cost is measured.
  const limited = { RATE_LIMIT_RPS: "1000000" };
  if (mode === "api_key") {
    const { key, entry } = makeApiKey("bench", "*", "admin");
    const file = join(dir, "api-keys.json");
    writeFileSync(file, JSON.stringify([entry]));
    return { env: { AUTH_MODE: "api_key", AUTH_API_KEYS_FILE: file, ...limited }, headers: { "x-api-key": key } };
  }
  if (mode === "jwt") {
    const secret = "bench-secret-".padEnd(48, "x");
    const token = await makeJwt({ secret, sub: "bench", project: "*", roles: ["admin"], ttlSeconds: 3600 });
    return { env: { AUTH_MODE: "jwt", AUTH_JWT_SECRET: secret, ...limited }, headers: { authorization: `Bearer ${token}` } };
  }
  return { env: { AUTH_MODE: "none" }, headers: {} };
}

async function run(node: NodeProcess, s: Scenario, seconds: number): Promise<LoadResult> {
  if (s.http) return httpLoad(node, s.http, CONNECTIONS, seconds);
  return grpcLoad(node, s.grpc!, Math.max(1, Math.round(CONNECTIONS / GRPC_STREAMS)), seconds, GRPC_CLIENT, GRPC_STREAMS);
}

/** Runs a scenario: a warm-up, then the measured load (profiled when asked). */
async function measure(node: NodeProcess, s: Scenario, mode: string): Promise<LoadResult> {
  if (s.floor) {
    const floor = await startNodeProcess({ FLOOR_API: s.floor }, "./grpc-floor-process.mjs");
    try {
      await run(floor, s, WARM_UP_SECONDS);
      return await run(floor, s, SECONDS);
    } finally {
      await floor.stop();
    }
  }
  await run(node, s, WARM_UP_SECONDS);
  if (PROFILE) await node.ask("profile:start");
  const result = await run(node, s, SECONDS);
  if (PROFILE) await node.ask(`profile:stop:${PROFILE}-${mode}-${s.name.replace(/\s+/g, "-")}.cpuprofile`);
  return result;
}

const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

function report(mode: string, rows: { name: string; r: LoadResult }[], load: number[]): void {
  const health = rows.filter((x) => x.name === "health").map((x) => x.r.rps);
  const ref = health.reduce((a, b) => a + b, 0) / health.length;
  const connectOf = (name: string) => rows.find((x) => x.name === name.replace(/ (rest|grpc)$/, " connect"))?.r;
  console.log(
    `\nAUTH_MODE=${mode} (load average at start ${load.map((l) => l.toFixed(1)).join(" ")}): /health ${health.map((h) => fmt(h)).join(" and ")} req/s`,
  );
  console.log("| scenario | req/s | × /health | p50 / p99 ms | node CPU µs/req | REST or gRPC ÷ Connect (time per request) | failed |");
  console.log("| --- | --- | --- | --- | --- | --- | --- |");
  for (const { name, r } of rows) {
    const connect = /(rest|grpc)$/.test(name) ? connectOf(name) : undefined;
    const vs = connect ? `${(connect.rps / r.rps).toFixed(2)}×` : "";
    console.log(
      `| ${name} | ${fmt(r.rps)} | ${(r.rps / ref).toFixed(3)} | ${fmt(r.p50, 1)} / ${fmt(r.p99, 1)} | ${fmt(r.cpuUsPerRequest)} | ${vs} | ${r.failed} |`,
    );
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "cronmesh-bench-api-"));
  const sink = await startSink();
  const results: Record<string, { name: string; r: LoadResult }[]> = {};
  try {
    const seeding = performance.now();
    const store = createSqliteStore({ path: join(dir, "data", "cronmesh.db") });
    const ids = await seedJobs(store, JOBS, { sinkUrl: sink.url });
    await store.close();
    console.log(`${fmt(JOBS)} jobs stored in ${fmt((performance.now() - seeding) / 1000, 1)} s`);
    for (const mode of MODES) {
      const auth = await authSetup(mode, dir);
      const node = await startNodeProcess({
        PORT: "0",
        HOST: "127.0.0.1",
        DATA_DIR: join(dir, "data"),
        LOG_LEVEL: "warn",
        MAX_JOBS_PER_PROJECT: "100000000",
        ...auth.env,
      });
      const load = loadavg();
      const rows: { name: string; r: LoadResult }[] = [];
      try {
        for (const s of scenarios(ids, sink.url, auth.headers)) {
          if (mode !== "none" && !s.everyMode) continue;
          if (ONLY && s.name !== "health" && !ONLY.includes(s.name)) continue;
          const r = await measure(node, s, mode);
          rows.push({ name: s.name, r });
          console.log(
            `  ${mode} ${s.name}: ${fmt(r.rps)} req/s, p99 ${fmt(r.p99, 1)} ms, ${fmt(r.cpuUsPerRequest)} µs CPU/req${r.failed ? `, ${r.failed} failed` : ""}`,
          );
        }
      } finally {
        await node.stop();
      }
      results[mode] = rows;
      report(mode, rows, load);
    }
    if (process.env.BENCH_JSON)
      writeFileSync(process.env.BENCH_JSON, JSON.stringify({ jobs: JOBS, seconds: SECONDS, connections: CONNECTIONS, results }, null, 2));
  } finally {
    await sink.report();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
