// Fire-loop benchmark (npm run bench:fire [-- spread aligned burst]).
// Runs one embedded-store node in this process and a loopback sink in a child process, and
// reports lateness = arrival at the sink − nominal slot, next to a raw baseline: the time a bare
// undici loop needs to POST the same number of requests, with the same headers, to the same
// kind of sink (a fresh one, warmed like the service's).
// BENCH_TRACING=1 turns tracing on, exporting to a loopback OTLP/HTTP receiver (another child
// process) that discards what it gets; other OTEL_* variables (OTEL_BSP_MAX_QUEUE_SIZE, …) apply.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PerformanceObserver } from "node:perf_hooks";
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { CronService } from "../gen/cronmesh/v1/cron_service_pb.js";
import { JobSchema } from "../gen/cronmesh/v1/job_pb.js";
import {
  CONNECTIONS,
  median,
  pct,
  rawAgent,
  rawBaseline,
  rawPost,
  serviceLikeHeaders,
  startChild,
  startCpuProfile,
  startSink,
  type Rec,
  type RawKind,
} from "./loopback.js";

/**
 * The service as it ships: compiled by tsc (`npm run bench:fire` builds first), not transformed on
 * the fly by tsx, whose keep-names helpers add a property definition to every closure created
 * (several percent of the CPU of a busy second). BENCH_SOURCE=1 runs the TypeScript sources.
 */
const service = process.env.BENCH_SOURCE === "1" ? "../src" : "../dist/src";
const { loadConfig } = (await import(`${service}/config/config.js`)) as typeof import("../src/config/config.js");
const { startNode } = (await import(`${service}/main.js`)) as typeof import("../src/main.js");

/**
 * The service's worker pool (BENCH_WORKERS): a little above the connection count. A worker is
 * busy while its run's request is, not during the run's store writes, so more workers would only
 * queue requests inside undici (and keep more runs' objects alive: 2,048 cost 10–25% more CPU in
 * the burst).
 */
const WORKERS = Number(process.env.BENCH_WORKERS ?? 320);
/** Seeded PRNG (mulberry32) so every run spreads jobs over the same seconds. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function withNode<T>(fn: (baseUrl: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "cronmesh-bench-"));
  const collector = process.env.BENCH_TRACING === "1" ? await startChild<{ requests: number; bytes: number }>("./otlp-discard-process.mjs") : undefined;
  const env = {
    PORT: "0",
    HOST: "127.0.0.1",
    DATA_DIR: dir,
    LOG_LEVEL: "warn",
    WORKER_CONCURRENCY: String(WORKERS),
    HTTP_CONNECTIONS: String(CONNECTIONS),
    ...(collector ? { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url } : {}),
  };
  const node = await startNode(loadConfig(env), { env: { ...process.env, ...env } });
  try {
    return await fn(`http://127.0.0.1:${node.server.port}`);
  } finally {
    await node.stop();
    stopCpu();
    await stopProfile();
    rmSync(dir, { recursive: true, force: true });
    if (collector) {
      const { requests, bytes } = await collector.report();
      console.log(`tracing on: ${requests} OTLP exports, ${(bytes / 1e6).toFixed(1)} MB (discarded)`);
    }
  }
}

const cronClient = (baseUrl: string) => createClient(CronService, createConnectTransport({ baseUrl, httpVersion: "1.1" }));

/** Creates one job per schedule, 32 RPCs at a time; returns their ids. */
async function createJobs(baseUrl: string, sinkUrl: string, schedules: string[]): Promise<string[]> {
  const cron = cronClient(baseUrl);
  const ids: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < schedules.length) {
      const i = next++;
      const { job } = await cron.createJob({
        job: create(JobSchema, { name: `bench ${i}`, schedule: schedules[i]!, concurrencyPolicy: 1, target: { url: `${sinkUrl}/b` } }),
      });
      ids[i] = job!.jobId;
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  return ids;
}

/**
 * Runs the service's execution path before a measurement, so it is measured compiled, as in a
 * service that has been running (the raw loops are measured warm too): one manual run of each
 * job given, 32 triggers at a time. Their deliveries carry other slots and are not counted.
 */
async function warmUpRuns(baseUrl: string, jobIds: string[]): Promise<void> {
  const cron = cronClient(baseUrl);
  let next = 0;
  const worker = async () => {
    while (next < jobIds.length) await cron.triggerJob({ jobId: jobIds[next++]! });
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  await new Promise((r) => setTimeout(r, 3000));
}

/** Manual runs that warm the service up before the burst. */
const WARM_UP_RUNS = 2000;

const sleepUntil = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));

/**
 * CPU seconds (user + system) of this process from the measured window's start (set by the
 * scenario once its jobs exist) to the end of the node's shutdown, span export included: the
 * service's own cost of the scenario, which a busy machine disturbs less than it disturbs lateness.
 */
let cpuStart: NodeJS.CpuUsage | undefined;
let cpuSeconds = NaN;

/** BENCH_PROFILE=file.cpuprofile records a V8 CPU profile of the measured window (open it in Chrome DevTools). */
const PROFILE = process.env.BENCH_PROFILE;
let stopProfiler: (() => Promise<void>) | undefined;

async function startCpuAt(t: number): Promise<void> {
  await sleepUntil(t);
  cpuStart = process.cpuUsage();
  if (PROFILE) stopProfiler = await startCpuProfile(PROFILE);
}

async function stopProfile(): Promise<void> {
  await stopProfiler?.();
  stopProfiler = undefined;
}

function stopCpu(): void {
  if (!cpuStart) return;
  const { user, system } = process.cpuUsage(cpuStart);
  cpuSeconds = (user + system) / 1e6;
  cpuStart = undefined;
}

const cpuText = () => `node CPU ${cpuSeconds.toFixed(2)} s`;

/** A garbage-collection pause of this process: [start epoch ms, duration ms]. */
type GcPause = [start: number, ms: number, kind: string];

/** V8 collection kinds, by the `detail.kind` of a gc performance entry. */
const GC_KINDS: Record<number, string> = { 1: "minor", 4: "major", 8: "incremental", 16: "weak callbacks" };

/** Records this process's GC pauses until the returned function is called, which hands them over. */
function recordGcPauses(): () => GcPause[] {
  const pauses: GcPause[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      pauses.push([performance.timeOrigin + e.startTime, e.duration, GC_KINDS[(e as { detail?: { kind?: number } }).detail?.kind ?? 0] ?? "other"]);
  });
  observer.observe({ entryTypes: ["gc"] });
  return () => {
    observer.disconnect();
    return pauses;
  };
}

/** How many of the slots had a GC pause within `windowMs` after them, and those pauses' total milliseconds. */
function gcInWindows(pauses: GcPause[], slots: number[], windowMs: number): string {
  let hit = 0;
  let ms = 0;
  const kinds = new Map<string, number>();
  for (const slot of slots) {
    const inside = pauses.filter(([start, d]) => start < slot + windowMs && start + d > slot);
    if (inside.length > 0) hit++;
    ms += inside.reduce((sum, [, d]) => sum + d, 0);
    for (const [, , kind] of inside) kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  const byKind = [...kinds].map(([kind, n]) => `${n} ${kind}`).join(", ");
  return `GC pauses in the ${windowMs} ms after a slot: ${hit} of ${slots.length} slots, ${ms.toFixed(1)} ms in all${byKind ? ` (${byKind})` : ""}`;
}

function lateness(recs: Rec[]): number[] {
  return recs
    .filter((r) => r[1])
    .map((r) => r[2] - Date.parse(r[1]))
    .sort((a, b) => a - b);
}

function summary(name: string, lat: number[], extra: string): void {
  console.log(
    `${name.padEnd(8)} n=${String(lat.length).padStart(6)}  lateness min=${lat[0]} ms  p50=${pct(lat, 50)} ms  p99=${pct(lat, 99)} ms  max=${lat[lat.length - 1]} ms  ${extra}`,
  );
}

/**
 * Spread measures the second whole minute after the jobs exist, not the first: right after 10,000
 * creations the node still writes their versions' aftermath (WAL checkpoints, history) and runs
 * cold code, which is the cost of the creation, not of steady firing. BENCH_SPREAD_SETTLE_MS=0
 * measures the first minute.
 */
const SPREAD_SETTLE_MS = Number(process.env.BENCH_SPREAD_SETTLE_MS ?? 60_000);

/** The part of a second after its slot in which a GC pause delays the slot's requests (spread, aligned). */
const GC_WINDOW_MS = 20;

async function spread(): Promise<void> {
  const sink = await startSink();
  const rnd = prng(42);
  const schedules = Array.from({ length: 10_000 }, () => `${Math.floor(rnd() * 60)} * * * * *`);
  let from = 0;
  let gcText = "";
  await withNode(async (baseUrl) => {
    await createJobs(baseUrl, sink.url, schedules);
    // Measure a whole minute once every job exists and the node has settled (see SPREAD_SETTLE_MS).
    from = Math.ceil((Date.now() + 1000) / 60_000) * 60_000 + SPREAD_SETTLE_MS;
    await startCpuAt(from - 1000);
    const gcPauses = recordGcPauses();
    await sleepUntil(from + 62_000);
    const pauses = gcPauses();
    // Every pause of the minute, [ms from its start, duration, kind]: where they fall against the slots.
    if (process.env.BENCH_DUMP) writeFileSync(`${process.env.BENCH_DUMP}.gc`, JSON.stringify(pauses.map(([at, d, kind]) => [at - from, d, kind])));
    gcText = gcInWindows(
      pauses,
      Array.from({ length: 60 }, (_, i) => from + i * 1000),
      GC_WINDOW_MS,
    );
  });
  const recs = (await sink.report()).filter((r) => Date.parse(r[1]) >= from && Date.parse(r[1]) < from + 60_000);
  if (process.env.BENCH_DUMP) writeFileSync(process.env.BENCH_DUMP, JSON.stringify(recs));
  const perSecond = new Map<string, number>();
  for (const expr of schedules) perSecond.set(expr, (perSecond.get(expr) ?? 0) + 1);
  const raw = await rawSpreadBaseline([...perSecond.values()]);
  summary("spread", lateness(recs), `(one minute of 10,000 jobs at random seconds; target p99 <= 5 ms); raw: ${raw}`);
  console.log(`spread   ${gcText}`);
}

/**
 * The physical reference of the spread scenario: for each second's job count k, a bare undici
 * loop POSTs k requests at once to a fresh sink, over connections it opened beforehand (as the
 * service's are open by then); lateness = arrival − the instant they were sent. Once with each
 * raw loop kind.
 */
async function rawSpreadBaseline(counts: number[]): Promise<string> {
  const results: string[] = [];
  for (const kind of ["request", "dispatch"] as const) {
    const sink = await startSink();
    const agent = rawAgent();
    const post = (slot: string, i: number) => rawPost(agent, sink.url, serviceLikeHeaders(i, slot), kind);
    await rawBaseline(sink.url, SINK_WARM_UP, kind, agent);
    for (const k of counts) {
      await new Promise((r) => setTimeout(r, 50));
      const slot = new Date(Date.now()).toISOString();
      await Promise.all(Array.from({ length: k }, (_, i) => post(slot, i)));
    }
    await agent.close();
    const recs = await sink.report();
    if (process.env.BENCH_DUMP) writeFileSync(`${process.env.BENCH_DUMP}.raw-${kind}`, JSON.stringify(recs));
    const lat = lateness(recs);
    results.push(`${kind}() p50=${pct(lat, 50)} ms p99=${pct(lat, 99)} ms max=${lat[lat.length - 1]} ms`);
  }
  return `the same counts sent at once by a bare undici loop over open connections: ${results.join("; ")}`;
}

async function aligned(): Promise<void> {
  const sink = await startSink();
  const seconds = Number(process.env.BENCH_SECONDS ?? 30);
  let window = { from: 0, to: 0 };
  let gcText = "";
  await withNode(async (baseUrl) => {
    await createJobs(
      baseUrl,
      sink.url,
      Array.from({ length: 1000 }, () => "* * * * * *"),
    );
    window = { from: Math.ceil(Date.now() / 1000) * 1000 + 2000, to: 0 };
    window.to = window.from + seconds * 1000;
    await startCpuAt(window.from);
    const gcPauses = recordGcPauses();
    await sleepUntil(window.to + 3000);
    gcText = gcInWindows(
      gcPauses(),
      Array.from({ length: seconds }, (_, i) => window.from + i * 1000),
      GC_WINDOW_MS,
    );
  });
  const recs = (await sink.report()).filter((r) => Date.parse(r[1]) >= window.from && Date.parse(r[1]) < window.to);
  const perSlot = new Map<string, number>();
  for (const r of recs) perSlot.set(r[1], Math.max(perSlot.get(r[1]) ?? 0, r[2] - Date.parse(r[1])));
  const raw = await rawBaselineWithSink(1000);
  const lasts = [...perSlot.values()].sort((a, b) => a - b);
  const worst = lasts[lasts.length - 1]!;
  summary(
    "aligned",
    lateness(recs),
    `last delivery per slot: median ${versusRaw(median(lasts), raw)}, worst ${versusRaw(worst, raw)} (${rawText(raw)}; target <= 1.15x); ${cpuText()}`,
  );
  console.log(`aligned  ${gcText}`);
}

/** Time to create the burst's 10,000 jobs before their slot; BENCH_BURST_LEAD_MS raises it on a busy machine. */
const BURST_LEAD_MS = Number(process.env.BENCH_BURST_LEAD_MS ?? 60_000);

/**
 * Bursts measured (BENCH_BURSTS, 1–6), spaced evenly within one minute (every job has a slot in
 * each): the raw baselines are medians of warm runs, and so is the service's figure, the first
 * burst after start-up (cold code) being reported on its own too.
 */
const BURSTS = Math.min(6, Math.max(1, Number(process.env.BENCH_BURSTS ?? 5)));
const BURST_SPACING_MS = BURSTS === 1 ? 0 : Math.min(20, Math.floor(59 / (BURSTS - 1))) * 1000;

/** The first whole second at least `lead` ms away whose second-of-minute leaves room for every burst in the same minute. */
function firstBurstSlot(lead: number): number {
  let slot = Math.ceil((Date.now() + lead) / 1000) * 1000;
  while (new Date(slot).getUTCSeconds() + ((BURSTS - 1) * BURST_SPACING_MS) / 1000 > 59) slot += 1000;
  return slot;
}

async function burst(): Promise<void> {
  const sink = await startSink();
  let slots: number[] = [];
  await withNode(async (baseUrl) => {
    const first = firstBurstSlot(BURST_LEAD_MS);
    slots = Array.from({ length: BURSTS }, (_, i) => first + i * BURST_SPACING_MS);
    const d = new Date(first);
    const seconds = slots.map((s) => new Date(s).getUTCSeconds()).join(",");
    const expr = `${seconds} ${d.getUTCMinutes()} ${d.getUTCHours()} ${d.getUTCDate()} ${d.getUTCMonth() + 1} *`;
    const creating = performance.now();
    const jobIds = await createJobs(
      baseUrl,
      sink.url,
      Array.from({ length: 10_000 }, () => expr),
    );
    console.log(`burst: created 10,000 jobs in ${((performance.now() - creating) / 1000).toFixed(1)} s`);
    // The raw baselines run against a sink warmed by 500 requests first: so does the service.
    await rawBaseline(sink.url, SINK_WARM_UP, "request");
    await warmUpRuns(baseUrl, jobIds.slice(0, WARM_UP_RUNS));
    // From before the fire loop stages the first slot (at most 5 s ahead), so staging counts too.
    if (Date.now() > first - 7000) throw new Error("creating the jobs took longer than the lead time; raise it");
    await startCpuAt(first - 6000);
    await sleepUntil(slots[slots.length - 1]! + 15_000);
  });
  const all = await sink.report();
  if (process.env.BENCH_DUMP) writeFileSync(process.env.BENCH_DUMP, JSON.stringify(all.filter((r) => slots.includes(Date.parse(r[1])))));
  const raw = await rawBaselineWithSink(10_000);
  const lasts: number[] = [];
  slots.forEach((slot, i) => {
    const lat = lateness(all.filter((r) => Date.parse(r[1]) === slot));
    const last = lat[lat.length - 1] ?? NaN;
    lasts.push(last);
    summary(`burst ${i + 1}`, lat, `last delivery ${versusRaw(last, raw)}${i === 0 ? " (first after start-up)" : ""}`);
  });
  console.log(
    `burst    median last delivery of ${BURSTS} bursts ${versusRaw(median(lasts), raw)} (${rawText(raw)}; target <= 1.15x); ${cpuText()} for ${BURSTS * 10} k runs`,
  );
}

/**
 * Requests a fresh sink gets before anything is measured against it: its HTTP parsing and
 * handler are compiled by then, as in a long-running target.
 */
const SINK_WARM_UP = 500;

/** Raw runs measured; their median is the baseline, since one run varies by ±30% on 2 cores. */
const RAW_RUNS = 5;

/** Both raw baselines (request() and dispatch() loops, interleaved) against a fresh sink process, so they measure the same kind of receiver. */
async function rawBaselineWithSink(n: number): Promise<Record<RawKind, number>> {
  const sink = await startSink();
  await rawBaseline(sink.url, Math.min(n, SINK_WARM_UP), "request");
  const times: Record<RawKind, number[]> = { request: [], dispatch: [] };
  for (let i = 0; i < RAW_RUNS; i++) {
    for (const kind of ["request", "dispatch"] as const) times[kind].push(await rawBaseline(sink.url, n, kind));
  }
  await sink.report();
  return { request: median(times.request), dispatch: median(times.dispatch) };
}

/** "X ms = R× request-loop / R'× dispatch-loop". */
function versusRaw(ms: number, raw: Record<RawKind, number>): string {
  return `${ms} ms = ${(ms / raw.request).toFixed(2)}x raw request() / ${(ms / raw.dispatch).toFixed(2)}x raw dispatch()`;
}

const rawText = (raw: Record<RawKind, number>) => `raw: request() loop ${raw.request.toFixed(0)} ms, dispatch() loop ${raw.dispatch.toFixed(0)} ms`;

const SCENARIOS: Record<string, () => Promise<void>> = { spread, aligned, burst };
const chosen = process.argv.slice(2).filter((a) => a in SCENARIOS);
for (const name of chosen.length ? chosen : Object.keys(SCENARIOS)) {
  await SCENARIOS[name]!();
}
process.exit(0);
