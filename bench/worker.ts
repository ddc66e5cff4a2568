// Send-path benchmark (npm run bench:worker): the part of a busy slot that is left once the fire
// loop has staged it. N runs due at one instant go through the real run worker, SQLite store and
// HTTP client, wired as src/main.ts wires them, to a loopback sink in a child process; round
// after round, each followed by the raw loops posting as many requests to the same sink over
// connections already open (the service's pool keeps its own open between rounds too). It
// measures the steady state in a few seconds a round, without the minute of job creation and the
// one-off burst of bench:fire, so a change to the send path can be compared run against run.
// BENCH_RUNS (10,000) runs a round, BENCH_ROUNDS (6) rounds; the first is reported but left out
// of the medians (cold code). Each round also prints its last delivery over the raw dispatch()
// time of the same round: on a noisy machine the median of those per-round ratios drifts less
// than the ratio of medians. BENCH_PROFILE=file.cpuprofile records a V8 CPU profile of round 3,
// started before its slot (a profiler starting at the slot delays it) and stopped once idle.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JobRecord } from "../src/domain/job.js";
import type { RunRecord } from "../src/domain/run.js";
import { makeRun } from "../test/support/fixtures.js";
import { CONNECTIONS, median, pct, rawAgent, rawBaseline, startCpuProfile, startSink, type RawKind } from "./loopback.js";

/** The compiled service, as bench:fire measures it (BENCH_SOURCE=1: the TypeScript sources). */
const S = process.env.BENCH_SOURCE === "1" ? "../src" : "../dist/src";
const { createSqliteStore } = (await import(`${S}/store/sqlite/sqlite-store.js`)) as typeof import("../src/store/sqlite/sqlite-store.js");
const { createSystemClock } = (await import(`${S}/runtime/system-clock.js`)) as typeof import("../src/runtime/system-clock.js");
const { createHttpClient } = (await import(`${S}/executor/http-client.js`)) as typeof import("../src/executor/http-client.js");
const { createSecretSource } = (await import(`${S}/executor/secrets.js`)) as typeof import("../src/executor/secrets.js");
const { createRunWorker } = (await import(`${S}/scheduler/run-worker.js`)) as typeof import("../src/scheduler/run-worker.js");
const { createJobCache } = (await import(`${S}/scheduler/job-cache.js`)) as typeof import("../src/scheduler/job-cache.js");
const { createRunBookkeeping } = (await import(`${S}/scheduler/run-bookkeeping.js`)) as typeof import("../src/scheduler/run-bookkeeping.js");
const { createRunEvents } = (await import(`${S}/scheduler/run-events.js`)) as typeof import("../src/scheduler/run-events.js");
const { PROGRESS_DEFAULTS } = (await import(`${S}/scheduler/run-progress.js`)) as typeof import("../src/scheduler/run-progress.js");
const { createMetrics } = (await import(`${S}/telemetry/metrics.js`)) as typeof import("../src/telemetry/metrics.js");
const { DEFAULT_HISTORY_LIMIT, emptyStats } = (await import(`${S}/domain/job.js`)) as typeof import("../src/domain/job.js");
const { youngCollector } = (await import(`${S}/runtime/young-collector.js`)) as typeof import("../src/runtime/young-collector.js");

const RUNS = Number(process.env.BENCH_RUNS ?? 10_000);
const ROUNDS = Math.max(2, Number(process.env.BENCH_ROUNDS ?? 6));
/** The service's defaults for bench:fire: a worker pool a little above the connection count. */
const WORKERS = Number(process.env.BENCH_WORKERS ?? 320);
/** Runs are staged this long before their slot, as the fire loop stages them. */
const STAGE_LEAD_MS = 1500;

const sink = await startSink();
const dir = mkdtempSync(join(tmpdir(), "cronmesh-bench-worker-"));
const clock = createSystemClock();
const store = createSqliteStore({ path: join(dir, "cronmesh.db") });
await store.init();
const jobs: JobRecord[] = Array.from({ length: RUNS }, (_, i) => ({
  jobId: `job_${String(i).padStart(26, "0")}`,
  spec: {
    projectId: "",
    name: `bench ${i}`,
    description: "",
    tags: {},
    schedule: "* * * * * *",
    timezone: "UTC",
    concurrencyPolicy: "allow",
    misfirePolicy: "fire_once",
    catchupWindowMs: 3_600_000,
    maxJitterMs: 0,
    handler: "",
    target: { url: `${sink.url}/b`, method: "POST", headers: {}, body: "", timeoutMs: 30_000, successCodes: [] },
    retry: { maxAttempts: 1, initialBackoffMs: 1000, maxBackoffMs: 60_000, multiplier: 2, retryOn: "on_failure" },
    tasks: [],
    historyLimit: DEFAULT_HISTORY_LIMIT,
  },
  status: "active",
  pauseNote: "",
  version: 1,
  createdAt: 0,
  createdBy: "bench",
  updatedAt: 0,
  updatedBy: "bench",
  changeReason: "",
  nextTriggerAt: 0,
  stats: emptyStats(),
}));
for (const job of jobs) await store.createJob(job);

const onError = (err: unknown, step: string) => console.error(step, err);
const http = createHttpClient({ clock, connectionsPerOrigin: CONNECTIONS });
const jobCache = createJobCache(store);
// Wired as in src/main.ts: history trims wait for the sends.
const betweenSlots = () => worker.betweenSlots();
const worker: import("../src/scheduler/run-worker.js").RunWorker = createRunWorker({
  store,
  clock,
  http,
  secrets: createSecretSource({}),
  handlers: new Map(),
  events: createRunEvents(),
  jobs: jobCache,
  metrics: createMetrics({ deadLetterDepth: async () => 0, queueDepth: () => 0, isLeader: () => true }),
  bookkeeping: createRunBookkeeping(store, clock, { statsFlushMs: 0, trimIntervalMs: 30_000, betweenSlots }, onError),
  nodeId: "bench-worker",
  concurrency: WORKERS,
  progress: PROGRESS_DEFAULTS,
  onError,
  prepareForSlot: youngCollector(),
});

let seq = 0;
/** The runs of one slot, as the fire loop stores them. */
function runsAt(slot: number): RunRecord[] {
  return jobs.map((job) => makeRun(`run_${String(++seq).padStart(26, "0")}`, job.jobId, slot, { projectId: "", dueAt: slot }));
}

/** One round: every job's run staged for the next whole second past the lead, then sent; lateness of each delivery. */
async function round(profile: boolean): Promise<{ lateness: number[]; cpuMs: number }> {
  const slot = Math.ceil((Date.now() + STAGE_LEAD_MS) / 1000) * 1000;
  const runs = runsAt(slot);
  for (let i = 0; i < runs.length; i += 1000) await store.insertRuns(runs.slice(i, i + 1000));
  for (const job of jobs) jobCache.offer(job);
  for (const run of runs) worker.submit(run, false);
  const stopProfile = PROFILE && profile ? await startCpuProfile(PROFILE) : undefined;
  await new Promise((r) => setTimeout(r, slot - Date.now()));
  const cpu = process.cpuUsage();
  await worker.idle();
  const { user, system } = process.cpuUsage(cpu);
  await stopProfile?.();
  const lateness = (await sink.take())
    .filter((r) => Date.parse(r[1]) === slot)
    .map((r) => r[2] - slot)
    .sort((a, b) => a - b);
  return { lateness, cpuMs: (user + system) / 1000 };
}

const PROFILE = process.env.BENCH_PROFILE;

const agent = rawAgent();
await rawBaseline(sink.url, 500, "dispatch", agent);
const lasts: number[] = [];
const raws: Record<RawKind, number[]> = { request: [], dispatch: [] };
const ratios: Record<RawKind, number[]> = { request: [], dispatch: [] };
for (let i = 1; i <= ROUNDS; i++) {
  const { lateness, cpuMs } = await round(Boolean(PROFILE) && i === 3);
  const raw = { dispatch: await rawBaseline(sink.url, RUNS, "dispatch", agent), request: await rawBaseline(sink.url, RUNS, "request", agent) };
  await sink.take();
  const last = lateness[lateness.length - 1] ?? NaN;
  if (i > 1) {
    lasts.push(last);
    raws.dispatch.push(raw.dispatch);
    raws.request.push(raw.request);
    ratios.dispatch.push(last / raw.dispatch);
    ratios.request.push(last / raw.request);
  }
  console.log(
    `round ${i}${i === 1 ? " (cold)" : ""}: n=${lateness.length} lateness first=${lateness[0]} p50=${pct(lateness, 50)} p99=${pct(lateness, 99)} last=${last} ms, ` +
      `CPU slot→idle ${cpuMs.toFixed(0)} ms; raw over open connections: dispatch() ${raw.dispatch.toFixed(0)} ms, request() ${raw.request.toFixed(0)} ms; ` +
      `last ÷ raw dispatch() ${(last / raw.dispatch).toFixed(2)}x`,
  );
}
const [m, d, r] = [median(lasts), median(raws.dispatch), median(raws.request)];
console.log(
  `median of rounds 2–${ROUNDS}: last delivery ${m} ms = ${(m / d).toFixed(2)}x raw dispatch() (${d.toFixed(0)} ms) / ${(m / r).toFixed(2)}x raw request() (${r.toFixed(0)} ms); ` +
    `median per-round ratio ${median(ratios.dispatch).toFixed(2)}x dispatch() / ${median(ratios.request).toFixed(2)}x request()`,
);
await worker.stop(1000);
await http.close();
await agent.close();
await store.close();
await sink.report();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
