// One million stored jobs (npm run bench:million). Not part of npm test; stops by itself; loopback only.
//
// BENCH_JOBS jobs (1,000,000 by default) are seeded once through the Store port (bench/seed.ts:
// daily schedules at random seconds, so about 11.6 slots a second) into an embedded SQLite file,
// cached in /tmp/million-<count>/ across runs; each run works on a copy of it, whose past slots
// are moved to their next day (a copy seeded hours ago would otherwise start with hours of
// misfires). Then the compiled node runs in a child process (bench/node-process.mjs) on that copy
// with a loopback sink on a fixed port (the seeded targets name it), and the bench measures:
// - start: spawn → the node leading with its fire loop loaded (and the node's own figure, from
//   its process start);
// - the node's RSS once leading, and its peak (sampled every second) while firing and listing;
// - firing: every slot due in a BENCH_FIRE_SECONDS window (60 by default) at the sink: delivered
//   share and lateness (arrival − nominal slot), quiet, then again while the listings run;
// - ListJobs over Connect (JSON) and REST: first, middle and last offset pages and a page token
//   from the middle, without filter and with each filter the API has (status, tag key and
//   key=value, text of every selectivity, project, owner); BENCH_REQUESTS sequential requests
//   each (40 by default, at most BENCH_SCENARIO_SECONDS each), p50 / p99 / max;
// - in this process, once the node has stopped, on the same store: the fire loop's resync (the
//   due-window references, then the jobs in full, as a leader's first load reads them) and
//   history trims as they run every day at steady state (BENCH_TRIM_JOBS jobs, each with one
//   finished run more than the default history limit of 100, trimmed in the bookkeeping's
//   chunks; then again, with nothing left to delete), time and memory.
// BENCH_STORE=mongo measures the same on a private FerretDB (test/harness/ferretdb.ts; the test
// server, far slower than MongoDB): seeded every run (no cache), 20,000 jobs by default.
// BENCH_SEED_ONLY=1 stops once the seed is cached. BENCH_KEEP=1 keeps the working copy; the cached seed is always kept (delete /tmp/million-* by hand).
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { Agent, request } from "undici";
import { startNodeProcess, type NodeProcess } from "./api-load.js";
import { pct, startSink, type Rec, type Sink } from "./loopback.js";
import { PAUSED_EVERY, RARE_EVERY, RARE_WORD, seedJobs } from "./seed.js";
import type { RunRecord } from "../src/domain/run.js";
import { makeRun } from "../test/support/fixtures.js";
import { startFerretDb, type FerretDbServer } from "../test/harness/ferretdb.js";
import type { Store } from "../src/store/store.js";

const service = process.env.BENCH_SOURCE === "1" ? "../src" : "../dist/src";
const { createSqliteStore } = (await import(`${service}/store/sqlite/sqlite-store.js`)) as typeof import("../src/store/sqlite/sqlite-store.js");
const { createMongoStore } = (await import(`${service}/store/mongo/mongo-store.js`)) as typeof import("../src/store/mongo/mongo-store.js");
const { TRIM_CHUNK } = (await import(`${service}/scheduler/run-bookkeeping.js`)) as typeof import("../src/scheduler/run-bookkeeping.js");
const { FIRE_LOOP_DEFAULTS } = (await import(`${service}/scheduler/fire-loop.js`)) as typeof import("../src/scheduler/fire-loop.js");

const MONGO = process.env.BENCH_STORE === "mongo";
const JOBS = Number(process.env.BENCH_JOBS ?? (MONGO ? 20_000 : 1_000_000));
const FIRE_SECONDS = Number(process.env.BENCH_FIRE_SECONDS ?? 60);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 40);
const SCENARIO_SECONDS = Number(process.env.BENCH_SCENARIO_SECONDS ?? 6);
const TRIM_JOBS = Number(process.env.BENCH_TRIM_JOBS ?? (MONGO ? 250 : 2500));
/** Each trimmed job's history: one run past the default history limit, as every job's next run leaves it. */
const KEEP = 100;
/** The sink's port: the seeded jobs' targets name it, so it must be the same every run. */
const SINK_PORT = Number(process.env.BENCH_SINK_PORT ?? 39_117);
const DIR = `/tmp/million-${JOBS}`;
const SEED = join(DIR, "seed.db");
const WORK = join(DIR, "work");
const DAY_MS = 86_400_000;
/** Slots due while the node starts fire late by design: the measured window opens this long after it leads. */
const SETTLE_MS = 3000;
const PAGE = 20;

const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const mb = (bytes: number) => `${fmt(bytes / 1048576)} MB`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Progress, on stderr (the figures go to stdout at the end). */
const progress = (message: string) => console.error(`  ${new Date().toISOString().slice(11, 19)} ${message}`);

/** Closes a store; its checkpoint thread does not keep a process alive, so a timer does meanwhile. */
async function closeStore(store: Store): Promise<void> {
  const alive = setInterval(() => undefined, 1000);
  await store.close();
  clearInterval(alive);
}

/** Seeds the cached store once (a million jobs take minutes), through the Store port. */
async function ensureSeed(): Promise<{ seedMs?: number }> {
  if (existsSync(SEED)) return {};
  mkdirSync(DIR, { recursive: true });
  const seeding = join(DIR, "seeding.db");
  rmSync(seeding, { force: true });
  const store = createSqliteStore({ path: seeding });
  await store.init();
  const started = performance.now();
  await seedJobs(store, JOBS, { sinkUrl: `http://127.0.0.1:${SINK_PORT}`, progress: (n) => progress(`seeded ${fmt(n)} jobs`) });
  const seedMs = performance.now() - started;
  await closeStore(store);
  renameSync(seeding, SEED);
  writeFileSync(join(DIR, "seed.json"), JSON.stringify({ jobs: JOBS, sinkPort: SINK_PORT, seedMs }));
  return { seedMs };
}

/**
 * The working copy: the seed, with every slot already past moved to its next day (daily UTC
 * schedules), so that the node starts with nothing overdue. Returns the slots due in the next
 * `horizonMs` (job id and slot), to count the due ones of a window.
 */
function prepareWork(horizonMs: number): Map<string, number> {
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  const path = join(WORK, "cronmesh.db");
  copyFileSync(SEED, path);
  const db = new Database(path);
  const now = Date.now();
  db.prepare(`UPDATE jobs SET next_trigger_at = next_trigger_at + ${DAY_MS} * ((@now - next_trigger_at) / ${DAY_MS} + 1) WHERE next_trigger_at <= @now`).run({
    now,
  });
  const rows = db
    .prepare("SELECT job_id, next_trigger_at FROM jobs WHERE status = 'active' AND next_trigger_at > ? AND next_trigger_at <= ?")
    .all(now, now + horizonMs) as { job_id: string; next_trigger_at: number }[];
  db.close();
  return new Map(rows.map((r) => [r.job_id, r.next_trigger_at]));
}

/** Samples the node's RSS every second; `peak()` reads the highest so far and starts over. */
function rssSampler(node: NodeProcess) {
  let peak = 0;
  let stopped = false;
  void (async () => {
    while (!stopped) {
      peak = Math.max(peak, (await node.usage()).rss);
      await sleep(1000);
    }
  })();
  return {
    peak: () => {
      const p = peak;
      peak = 0;
      return p;
    },
    stop: () => void (stopped = true),
  };
}

/** Delivered share and lateness of the slots due in [from, to), from the sink's records. */
function firing(name: string, recs: Rec[], due: Map<string, number>, from: number, to: number): string {
  const expected = [...due].filter(([, at]) => at >= from && at < to);
  const arrivals = new Map<string, number>();
  for (const [jobId, slot, arrival] of recs) {
    const at = Date.parse(slot);
    if (at >= from && at < to && !arrivals.has(jobId)) arrivals.set(jobId, arrival - at);
  }
  const late = expected.map(([jobId]) => arrivals.get(jobId)).filter((l): l is number => l !== undefined);
  late.sort((a, b) => a - b);
  const share = (100 * late.length) / Math.max(1, expected.length);
  return `| ${name} | ${fmt(expected.length)} (${fmt(expected.length / ((to - from) / 1000), 1)}/s) | ${fmt(share, 2)}% | ${pct(late, 50)} / ${pct(late, 99)} / ${late[late.length - 1]} |`;
}

/** A ListJobs scenario: the request over Connect (JSON body) and the same over REST (query). */
interface Listing {
  name: string;
  params: Record<string, string | number>;
}

/** The filters the API has, with what share of the seeded jobs each matches. */
function filters(): { name: string; params: Record<string, string> }[] {
  return [
    { name: "no filter", params: {} },
    { name: `status=paused (1/${PAUSED_EVERY})`, params: { status: "JOB_STATUS_PAUSED" } },
    { name: "status=active (most)", params: { status: "JOB_STATUS_ACTIVE" } },
    { name: "tag team=billing (1/10)", params: { tag: "team=billing" } },
    { name: `tag tier=gold (1/${RARE_EVERY})`, params: { tag: "tier=gold" } },
    { name: "tag team (all)", params: { tag: "team" } },
    { name: `text "${RARE_WORD}" (1/${RARE_EVERY})`, params: { text: RARE_WORD } },
    { name: 'text "billing" (1/10)', params: { text: "billing" } },
    { name: 'text "report" (all)', params: { text: "report" } },
    { name: 'text "ad" (short, 1/10)', params: { text: "ad" } },
    { name: "project default (all)", params: { projectId: "default" } },
    { name: "owner bench (all)", params: { owner: "bench" } },
  ];
}

const agent = new Agent({ connections: 1, keepAliveTimeout: 60_000 });

/** One ListJobs call: Connect with a JSON body, or REST with the same fields as a query. */
async function listJobs(node: NodeProcess, protocol: "connect" | "rest", params: Record<string, string | number>): Promise<Record<string, unknown>> {
  const res =
    protocol === "connect"
      ? await request(`${node.url}/cronmesh.v1.CronService/ListJobs`, {
          dispatcher: agent,
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(params),
        })
      : await request(`${node.url}/api/v1/cron/jobs?${new URLSearchParams(Object.entries(params).map(([k, v]) => [restName(k), String(v)]))}`, {
          dispatcher: agent,
        });
  const body = (await res.body.json()) as Record<string, unknown>;
  if (res.statusCode !== 200) throw new Error(`ListJobs ${protocol} ${JSON.stringify(params)}: ${res.statusCode} ${JSON.stringify(body)}`);
  return body;
}

/** REST query parameters are the proto's field names. */
const restName = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** The pages of one filter: first, middle and last offset pages, and a page token from the middle. */
async function pagesOf(node: NodeProcess, filter: Record<string, string>): Promise<{ pages: Listing[]; coldMs: number }> {
  const t = performance.now();
  const first = await listJobs(node, "connect", { ...filter, limit: PAGE });
  const coldMs = performance.now() - t;
  const total = Number((first.pagination as { total?: string } | undefined)?.total ?? 0);
  const middle = Math.max(0, Math.floor(total / 2));
  const last = Math.max(0, total - PAGE);
  const mid = await listJobs(node, "connect", { ...filter, limit: PAGE, offset: middle });
  const token = String(mid.nextPageToken ?? "");
  const pages: Listing[] = [
    { name: "first page", params: { ...filter, limit: PAGE } },
    { name: `offset ${fmt(middle)}`, params: { ...filter, limit: PAGE, offset: middle } },
    { name: `offset ${fmt(last)}`, params: { ...filter, limit: PAGE, offset: last } },
  ];
  if (token) pages.push({ name: "token from the middle", params: { ...filter, pageSize: PAGE, pageToken: token } });
  return { pages: pages.map((p) => ({ ...p, name: `${p.name} (of ${fmt(total)})` })), coldMs };
}

/** Latencies (ms, sorted) of sequential calls, at most {@link REQUESTS} or {@link SCENARIO_SECONDS}. */
async function sequential(node: NodeProcess, protocol: "connect" | "rest", params: Record<string, string | number>): Promise<number[]> {
  await listJobs(node, protocol, params);
  const lat: number[] = [];
  const end = performance.now() + SCENARIO_SECONDS * 1000;
  while (lat.length < REQUESTS && (lat.length < Math.min(5, REQUESTS) || performance.now() < end)) {
    const t = performance.now();
    await listJobs(node, protocol, params);
    lat.push(performance.now() - t);
  }
  return lat.sort((a, b) => a - b);
}

/** Every listing scenario over both protocols; returns the table rows and the worst p99. */
async function listings(node: NodeProcess): Promise<{ rows: string[]; worst: number }> {
  const rows: string[] = [];
  let worst = 0;
  for (const f of filters()) {
    progress(`ListJobs ${f.name}`);
    const { pages, coldMs } = await pagesOf(node, f.params);
    rows.push(`| ${f.name} | the filter's first call (Connect, first page) | ${fmt(coldMs, 1)} | |`);
    progress(rows[rows.length - 1]!);
    for (const page of pages) {
      const cells: string[] = [];
      for (const protocol of ["connect", "rest"] as const) {
        const lat = await sequential(node, protocol, page.params);
        worst = Math.max(worst, pct(lat, 99));
        cells.push(`${fmt(pct(lat, 50), 1)} / ${fmt(pct(lat, 99), 1)} (n=${lat.length})`);
      }
      rows.push(`| ${f.name} | ${page.name} | ${cells.join(" | ")} |`);
      progress(rows[rows.length - 1]!);
    }
  }
  return { rows, worst };
}

/** Time (ms) and memory growth of `fn`, in this process. */
async function measured<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number; heap: number; rss: number }> {
  global.gc?.();
  const before = process.memoryUsage();
  const t = performance.now();
  const value = await fn();
  const ms = performance.now() - t;
  const after = process.memoryUsage();
  return { value, ms, heap: after.heapUsed - before.heapUsed, rss: after.rss - before.rss };
}

/** The fire loop's resync, as a leader's first load does it: due references, then every job in full. */
async function resyncFigures(store: Store): Promise<string[]> {
  const rows: string[] = [];
  const before = Date.now() + FIRE_LOOP_DEFAULTS.lookaheadMs;
  for (let i = 0; i < 3; i++) {
    const refs = await measured(() => store.listDueJobRefs(before, FIRE_LOOP_DEFAULTS.maxLoaded));
    const full = await measured(async () => {
      const ids = refs.value.map((r) => r.jobId);
      const out = [];
      for (let j = 0; j < ids.length; j += 1000) out.push(...(await store.getJobs(ids.slice(j, j + 1000))));
      return out;
    });
    rows.push(
      `| resync ${i + 1}: due references (${fmt(refs.value.length)}) | ${fmt(refs.ms, 1)} ms | heap ${mb(refs.heap)}, RSS ${mb(refs.rss)} |`,
      `| resync ${i + 1}: those jobs in full | ${fmt(full.ms, 1)} ms | heap ${mb(full.heap)}, RSS ${mb(full.rss)} |`,
    );
  }
  return rows;
}

/** A finished run of the job, at minute `i` of yesterday. */
function finishedRun(jobId: string, i: number, at: number): RunRecord {
  const slot = at - DAY_MS + i * 60_000;
  return makeRun(`bench-${jobId}-${String(i).padStart(3, "0")}`, jobId, slot, {
    projectId: "default",
    status: "succeeded",
    revision: 2,
    finishedAt: slot + 10,
    durationMs: 10,
  });
}

/** History trims: {@link TRIM_JOBS} jobs with {@link KEEP} + 1 finished runs each, trimmed to {@link KEEP} in the bookkeeping's chunks, then again (nothing left to delete). */
async function trimFigures(store: Store): Promise<string[]> {
  const jobIds = (await store.listJobs({}, { pageSize: TRIM_JOBS })).items.map((j) => j.jobId);
  const now = Date.now();
  for (let i = 0; i < jobIds.length; i += 50) {
    await store.insertRuns(jobIds.slice(i, i + 50).flatMap((jobId) => Array.from({ length: KEEP + 1 }, (_, k) => finishedRun(jobId, k, now))));
  }
  const rows: string[] = [];
  for (const pass of ["one run a job to delete", "nothing to delete"]) {
    const chunks: number[] = [];
    let deleted = 0;
    const all = await measured(async () => {
      for (let i = 0; i < jobIds.length; i += TRIM_CHUNK) {
        const t = performance.now();
        deleted += await store.trimRuns(jobIds.slice(i, i + TRIM_CHUNK).map((jobId) => ({ jobId, keep: KEEP })));
        chunks.push(performance.now() - t);
      }
    });
    chunks.sort((a, b) => a - b);
    rows.push(
      `| trim ${fmt(jobIds.length)} jobs of ${KEEP + 1 - (deleted ? 0 : 1)} runs to ${KEEP}, ${pass} (${fmt(deleted)} deleted) | ${fmt(all.ms)} ms in all; a chunk of ${TRIM_CHUNK} jobs p50 ${fmt(pct(chunks, 50), 1)} ms, max ${fmt(chunks[chunks.length - 1]!, 1)} ms | heap ${mb(all.heap)}, RSS ${mb(all.rss)} |`,
    );
  }
  return rows;
}

/** Figures of the node: start, memory, firing, listings. */
async function nodeFigures(sink: Sink, due: Map<string, number>, storeEnv: Record<string, string>): Promise<string[]> {
  const spawned = performance.now();
  const node = await startNodeProcess({ PORT: "0", HOST: "127.0.0.1", DATA_DIR: WORK, LOG_LEVEL: "warn", ...storeEnv });
  const spawnToLeading = performance.now() - spawned;
  progress(`node leading after ${fmt(spawnToLeading)} ms; firing for ${FIRE_SECONDS} s`);
  const leadingAt = Date.now();
  const out: string[] = [];
  try {
    const idle = await node.usage();
    out.push(
      `start: spawn → leading ${fmt(spawnToLeading)} ms (the node's own count from its process start: port open ${fmt(node.startedMs)} ms, leading ${fmt(node.leadingMs)} ms)`,
      `RSS once leading: ${mb(idle.rss)} (heap ${mb(idle.heapUsed)})`,
    );
    const rss = rssSampler(node);
    await sink.take();
    const quietFrom = leadingAt + SETTLE_MS;
    const quietTo = quietFrom + FIRE_SECONDS * 1000;
    await sleep(quietTo + 2000 - Date.now());
    const quiet = await sink.take();
    out.push(`RSS peak while firing: ${mb(rss.peak())}`);
    progress("listing");
    const listFrom = Date.now();
    const { rows, worst } = await listings(node);
    const listTo = Date.now() - 2000;
    await sleep(2000);
    const busy = await sink.take();
    out.push(`RSS peak while listing: ${mb(rss.peak())}`, "", "| window | due slots | delivered | lateness p50 / p99 / max ms |", "| --- | --- | --- | --- |");
    out.push(
      firing(`quiet, ${FIRE_SECONDS} s`, quiet, due, quietFrom, quietTo),
      firing(`during the ListJobs loops`, [...quiet, ...busy], due, listFrom, listTo),
      "",
    );
    out.push(
      `ListJobs, sequential requests (p50 / p99 ms); worst p99 ${fmt(worst, 1)} ms`,
      "",
      "| filter | page | Connect | REST |",
      "| --- | --- | --- | --- |",
      ...rows,
    );
    rss.stop();
  } finally {
    await node.stop();
  }
  return out;
}

/** The slots due from now to `horizonMs` on, as the fire loop reads them (references). */
async function dueSlots(store: Store, horizonMs: number): Promise<Map<string, number>> {
  const now = Date.now();
  const refs = await store.listDueJobRefs(now + horizonMs, JOBS);
  return new Map(refs.filter((r) => r.nextTriggerAt > now).map((r) => [r.jobId, r.nextTriggerAt]));
}

/** The figures on the embedded store: the cached seed, a working copy of it. */
async function onSqlite(sink: Sink): Promise<string[]> {
  const due = prepareWork(FIRE_SECONDS * 1000 + 30 * 60_000);
  const lines = await nodeFigures(sink, due, {});
  const store = createSqliteStore({ path: join(WORK, "cronmesh.db") });
  await store.init();
  try {
    return [...lines, ...(await backgroundFigures(store))];
  } finally {
    await closeStore(store);
    if (process.env.BENCH_KEEP !== "1") rmSync(WORK, { recursive: true, force: true });
  }
}

/** The figures on a private FerretDB, seeded for this run. */
async function onMongo(sink: Sink): Promise<string[]> {
  const server: FerretDbServer = await startFerretDb();
  try {
    const options = { uri: server.uri, dbName: "million", nodeId: "bench" };
    const store = createMongoStore(options);
    await store.init();
    const started = performance.now();
    await seedJobs(store, JOBS, { sinkUrl: `http://127.0.0.1:${SINK_PORT}`, concurrency: 8, progress: (n) => progress(`seeded ${fmt(n)} jobs`) });
    console.log(`seed: ${fmt((performance.now() - started) / 1000, 1)} s through the Store port (FerretDB ${server.backend})`);
    const due = await dueSlots(store, FIRE_SECONDS * 1000 + 30 * 60_000);
    const lines = await nodeFigures(sink, due, { MONGODB_URI: server.uri, MONGODB_DB: options.dbName });
    try {
      return [...lines, ...(await backgroundFigures(store))];
    } finally {
      await store.close();
    }
  } finally {
    await server.stop();
  }
}

/** Resync and history trims, in this process on the node's store. */
async function backgroundFigures(store: Store): Promise<string[]> {
  progress("resync and history trims, in process");
  return ["", "| in process, same store | time | memory growth |", "| --- | --- | --- |", ...(await resyncFigures(store)), ...(await trimFigures(store))];
}

async function main() {
  console.log(
    `bench:million — ${fmt(JOBS)} jobs on ${MONGO ? "FerretDB" : "SQLite"}, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`,
  );
  if (!MONGO) {
    const { seedMs } = await ensureSeed();
    console.log(seedMs === undefined ? `seed: cached in ${SEED}` : `seed: ${fmt(seedMs / 1000, 1)} s through the Store port (cached in ${SEED})`);
    if (process.env.BENCH_SEED_ONLY === "1") return;
  }
  const sink = await startSink(SINK_PORT);
  try {
    console.log((MONGO ? await onMongo(sink) : await onSqlite(sink)).join("\n"));
  } finally {
    await sink.report();
    await agent.close();
  }
}

await main();
