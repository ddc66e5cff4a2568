// Overload benchmark (npm run bench:overload): what one embedded-store node does past its capacity.
// It first measures the capacity in this very run (absolute rates drift ±30% on the 2-core
// machine, so loads are set as ratios to it): a minute of every-second jobs, all due at the same
// instant of each second, their number ramping up to BENCH_PROBE_JOBS (12,000); the capacity is the
// most runs the node delivers per slot (median of 3 s) as the load passes it. A bare undici
// dispatch() loop posting as many requests to the same kind of sink is printed next to it, as the
// machine's reference. Then
// two phases of one minute each, every job due every second again: 1.5× and 3× the capacity. For
// each it prints, per 10 s of slots, the lateness of the deliveries (arrival at the sink − nominal
// slot), the node's queue depth against its bound, and its RSS; and per job, whether every due slot
// is accounted for: delivered, skipped, dropped (catch-up cap) or still pending, 0 missing. Jobs
// are 45% skip, 45% fire_once (their deliveries are the lateness figures) and 10% catch_up with a
// 10 s catch-up window (late on purpose, reported apart). Jobs are written to the node's SQLite file
// directly, through a second connection (as bench:worker writes its jobs): creating 20,000 of them
// over the API takes minutes on a busy 2-core machine, and what is measured starts after. The fire
// loop finds them at its start or with its resync. It stops by itself (about 8 minutes).
// BENCH_PROBE_JOBS sets the top of the probe's ramp; BENCH_RATIOS (default "1.5,3") the phases.
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { CronService } from "../gen/cronmesh/v1/cron_service_pb.js";
import { RunService } from "../gen/cronmesh/v1/run_service_pb.js";
import { RunStatus } from "../gen/cronmesh/v1/run_pb.js";
import { CONNECTIONS, median, pct, rawBaseline, startSink, type Rec, type Sink } from "./loopback.js";

/** The service as it ships (compiled); BENCH_SOURCE=1 runs the TypeScript sources. */
const service = process.env.BENCH_SOURCE === "1" ? "../src" : "../dist/src";
const { loadConfig } = (await import(`${service}/config/config.js`)) as typeof import("../src/config/config.js");
const { startNode } = (await import(`${service}/main.js`)) as typeof import("../src/main.js");
const { createSqliteStore } = (await import(`${service}/store/sqlite/sqlite-store.js`)) as typeof import("../src/store/sqlite/sqlite-store.js");
const { normalizeSpec } = (await import(`${service}/domain/job-validation.js`)) as typeof import("../src/domain/job-validation.js");
const { createOutboundPolicy } = (await import(`${service}/domain/outbound-policy.js`)) as typeof import("../src/domain/outbound-policy.js");
const { initialState } = (await import(`${service}/domain/lifecycle.js`)) as typeof import("../src/domain/lifecycle.js");
const { emptyStats } = (await import(`${service}/domain/job.js`)) as typeof import("../src/domain/job.js");
type JobRecord = import("../src/domain/job.js").JobRecord;
type Store = import("../src/store/store.js").Store;

/** bench:fire's worker pool: a little above the connection count. */
const WORKERS = Number(process.env.BENCH_WORKERS ?? 320);
/** The probe's load at the end of its ramp: about twice the capacity of the 2-core machine when quiet. */
const PROBE_JOBS = Number(process.env.BENCH_PROBE_JOBS ?? 12_000);
const RATIOS = (process.env.BENCH_RATIOS ?? "1.5,3").split(",").map(Number);
/** Time left between the end of job creation and a phase's minute (the fire loop's resync, every 15 s, loads them). */
const CREATE_MARGIN_MS = 20_000;
/** A generous guess of the time writing `n` jobs takes on a busy machine (1–4 ms each seen). */
const writeMs = (n: number) => 5 * n;
/** After a phase's minute, the node gets this long to decide and finish what is left, before counting. */
const DRAIN_MS = 30_000;
/** Every tenth job is catch_up, with this window. */
const CATCH_UP_WINDOW_MS = 10_000;

const sleepUntil = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");

/** The cron fields of the minute starting at `t` (UTC): "m h d M *". */
function minuteFields(t: number): string {
  const d = new Date(t);
  return `${d.getUTCMinutes()} ${d.getUTCHours()} ${d.getUTCDate()} ${d.getUTCMonth() + 1} *`;
}

type MisfirePolicyName = JobRecord["spec"]["misfirePolicy"];

/** The policy of job number `i`: 45% skip, 45% fire_once, 10% catch_up. */
function policyOf(i: number): MisfirePolicyName {
  if (i % 10 === 9) return "catch_up";
  return i % 2 === 0 ? "skip" : "fire_once";
}

type Clients = ReturnType<typeof clients>;
function clients(baseUrl: string) {
  const transport = createConnectTransport({ baseUrl, httpVersion: "1.1" });
  return { cron: createClient(CronService, transport), runs: createClient(RunService, transport) };
}

/** A job as the API would create it: every second of the given schedule, to the sink, allowed to overlap. */
function jobRecord(id: string, sinkUrl: string, schedule: string, policy: MisfirePolicyName, now: number): JobRecord {
  const spec = normalizeSpec(
    {
      projectId: "",
      name: `overload ${id}`,
      description: "",
      tags: {},
      schedule,
      timezone: "UTC",
      concurrencyPolicy: "allow",
      misfirePolicy: policy,
      catchupWindowMs: policy === "catch_up" ? CATCH_UP_WINDOW_MS : 0,
      maxJitterMs: 0,
      handler: "",
      target: { url: `${sinkUrl}/o`, method: "POST", headers: {}, body: "", timeoutMs: 0, successCodes: [] },
      retry: { maxAttempts: 0, initialBackoffMs: 0, maxBackoffMs: 0, multiplier: 0, retryOn: "on_failure" },
      tasks: [],
      historyLimit: 0,
    },
    createOutboundPolicy(),
  );
  const { status, nextTriggerAt } = initialState(spec, true, now);
  return {
    jobId: id,
    spec,
    status,
    pauseNote: "",
    version: 1,
    createdAt: now,
    createdBy: "bench",
    updatedAt: now,
    updatedBy: "bench",
    changeReason: "create",
    nextTriggerAt,
    stats: emptyStats(),
  };
}

/** Writes one job per spec to the store; returns their ids. */
async function createJobs(store: Store, sinkUrl: string, prefix: string, specs: { schedule: string; policy: MisfirePolicyName }[]): Promise<string[]> {
  const now = Date.now();
  const ids = specs.map((_, i) => `job_${prefix}_${String(i).padStart(6, "0")}`);
  for (const [i, { schedule, policy }] of specs.entries()) await store.createJob(jobRecord(ids[i]!, sinkUrl, schedule, policy, now));
  return ids;
}

/** The first minute start at least `leadMs` away. */
const minuteAfter = (leadMs: number) => Math.ceil((Date.now() + leadMs) / 60_000) * 60_000;

/** What the bench samples every 100 ms while a phase runs. */
interface Sample {
  at: number;
  waiting: number;
  bound: number;
  rss: number;
  overloaded: boolean;
}

/** Samples the node (queue, bound, RSS) until `until`. */
async function sampleUntil(node: Awaited<ReturnType<typeof startNode>>, until: number): Promise<Sample[]> {
  const samples: Sample[] = [];
  while (Date.now() < until) {
    const l = node.overload.load();
    samples.push({ at: Date.now(), waiting: l.queuedRuns, bound: l.queueBound, rss: process.memoryUsage.rss(), overloaded: l.overloaded });
    await new Promise((r) => setTimeout(r, 100));
  }
  return samples;
}

/** Per job: slot counters as the node reports them. */
interface Counters {
  skipped: number;
  dropped: number;
  runs: number;
  fails: number;
}

/** Every job's counters, read 1,000 at a time. */
async function countersOf(c: Clients): Promise<Map<string, Counters>> {
  const out = new Map<string, Counters>();
  for (let token = ""; ;) {
    const page = await c.cron.listJobs({ pageSize: 1000, pageToken: token });
    for (const j of page.data)
      out.set(j.jobId, { skipped: Number(j.skippedCount), dropped: Number(j.droppedCount), runs: Number(j.runCount), fails: Number(j.failCount) });
    if (!page.nextPageToken) return out;
    token = page.nextPageToken;
  }
}

/** Runs still queued or running, per job. */
async function pendingOf(c: Clients): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const status of [RunStatus.QUEUED, RunStatus.RUNNING]) {
    for (let token = ""; ;) {
      const page = await c.runs.listRuns({ status, pageSize: 1000, pageToken: token });
      for (const r of page.runs) out.set(r.jobId, (out.get(r.jobId) ?? 0) + 1);
      if (!page.nextPageToken) break;
      token = page.nextPageToken;
    }
  }
  return out;
}

const fmt = (xs: number[]) => (xs.length === 0 ? "-" : `p50 ${pct(xs, 50)} / p99 ${pct(xs, 99)} / max ${xs[xs.length - 1]} ms`);

/** Lateness of the deliveries whose slot lies in [from, from + 60 s), per 10 s of slots; `only` picks the jobs. */
function latenessByWindow(recs: Rec[], from: number, only: (jobId: string) => boolean): string[] {
  // The phase's last second apart: its jobs fire only within the minute, so a fire_once job's last
  // slot has no newer slot to supersede it and, by rule, starts even late (a schedule that goes on
  // would have the next slot take its place).
  const windows: [number, number, string][] = [0, 10, 20, 30, 40].map(
    (s) => [s, s + 10, `slots ${String(s).padStart(2)}-${s + 9} s`] as [number, number, string],
  );
  windows.push([50, 59, "slots 50-58 s"], [59, 60, "slot  59 s (last)"]);
  const out: string[] = [];
  for (const [a, b, label] of windows) {
    const lat = recs
      .filter((r) => only(r[0]) && Date.parse(r[1]) >= from + a * 1000 && Date.parse(r[1]) < from + b * 1000)
      .map((r) => r[2] - Date.parse(r[1]))
      .sort((x, y) => x - y);
    out.push(`  ${label}: n=${String(lat.length).padStart(6)}  ${fmt(lat)}`);
  }
  return out;
}

/** Queue and RSS per 10 s of the phase's minute. */
function samplesByWindow(samples: Sample[], from: number): string[] {
  const out: string[] = [];
  for (let w = 0; w < 6; w++) {
    const s = samples.filter((x) => x.at >= from + w * 10_000 && x.at < from + (w + 1) * 10_000);
    if (s.length === 0) continue;
    const mb = (b: number) => (b / 1e6).toFixed(0);
    out.push(
      `  ${String(w * 10).padStart(2)}-${w * 10 + 9} s: queue max ${Math.max(...s.map((x) => x.waiting))} (bound ${s[s.length - 1]!.bound}), overloaded ${s.filter((x) => x.overloaded).length}/${s.length} samples, RSS ${mb(Math.min(...s.map((x) => x.rss)))}-${mb(Math.max(...s.map((x) => x.rss)))} MB`,
    );
  }
  return out;
}

/**
 * The probe's jobs, written before the node starts: a ramp over the minute at `start`, job i due
 * each second from second ⌊60·i/PROBE_JOBS⌋ on, so the load grows by PROBE_JOBS/60 a second.
 */
async function createProbe(store: Store, sinkUrl: string, start: number): Promise<void> {
  const creating = Date.now();
  const specs = Array.from({ length: PROBE_JOBS }, (_, i) => ({
    schedule: `${Math.floor((60 * i) / PROBE_JOBS)}-59 ${minuteFields(start)}`,
    policy: "skip" as const,
  }));
  await createJobs(store, sinkUrl, "probe", specs);
  console.log(`probe: wrote ${PROBE_JOBS} jobs in ${((Date.now() - creating) / 1000).toFixed(1)} s; load average ${load()}`);
}

/**
 * The capacity probe: as the ramp's load rises past what the node can deliver, runs delivered per
 * slot stop following it; the capacity is the most delivered per slot (median of three seconds
 * in a row), reached where the load crosses it, before shedding costs anything much.
 */
async function probe(node: Awaited<ReturnType<typeof startNode>>, sink: Sink, start: number): Promise<number> {
  await sink.take();
  await sleepUntil(start + 65_000);
  const recs = await sink.take();
  const delivered = Array.from({ length: 60 }, () => 0);
  const lateness: number[][] = Array.from({ length: 60 }, () => []);
  for (const [, slot, arrival] of recs) {
    const s = (Date.parse(slot) - start) / 1000;
    if (s < 0 || s >= 60) continue;
    delivered[s]!++;
    lateness[s]!.push(arrival - Date.parse(slot));
  }
  const dueAt = (s: number) => Math.ceil(((s + 1) * PROBE_JOBS) / 60);
  // The last seconds are left out: once the ramp stops rising, what was held back catches up.
  const smoothed = delivered.slice(0, 57).map((_, s) => median(delivered.slice(Math.max(0, s - 1), s + 2)));
  const capacity = Math.max(...smoothed);
  const curve = [4, 9, 14, 19, 24, 29, 34, 39, 44, 49, 54, 59].map((s) => {
    const lat = lateness[s]!.sort((a, b) => a - b);
    return `${s + 1}s ${delivered[s]}/${dueAt(s)} p99 ${pct(lat, 99)}`;
  });
  console.log(`probe: due/delivered per slot (lateness p99 ms) as the load ramps: ${curve.join(", ")}`);
  const l = node.overload.load();
  console.log(
    `probe: capacity ${capacity} runs per slot (the most delivered, median of 3 s); node's queue bound ${l.queueBound}, start rate ${l.startRate}/s; load average ${load()}`,
  );
  if (capacity >= dueAt(59) * 0.98) console.log(`probe: WARNING: the node kept up with the whole ramp: raise BENCH_PROBE_JOBS, the capacity is higher`);
  await sleepUntil(Date.now() + 10_000);
  return capacity;
}

/** One phase: `count` jobs due every second of the minute starting at `from`; returns its report lines. */
async function phase(
  node: Awaited<ReturnType<typeof startNode>>,
  c: Clients,
  sink: Sink,
  name: string,
  jobIds: string[],
  from: number,
  before: Map<string, Counters>,
  catchUp: Set<string>,
) {
  await sleepUntil(from - 2000);
  await sink.take();
  const loadAtStart = load();
  const samples = await sampleUntil(node, from + 60_000);
  await sleepUntil(from + 60_000 + DRAIN_MS);
  const recs = (await sink.take()).filter((r) => Date.parse(r[1]) >= from && Date.parse(r[1]) < from + 60_000);
  const [after, pending] = [await countersOf(c), await pendingOf(c)];
  const inPhase = new Set(jobIds);
  const delivered = new Map<string, Set<string>>();
  let duplicates = 0;
  for (const [jobId, slot] of recs) {
    if (!inPhase.has(jobId)) continue;
    const slots = delivered.get(jobId) ?? new Set<string>();
    if (slots.has(slot)) duplicates++;
    delivered.set(jobId, slots.add(slot));
  }
  let due = 0,
    got = 0,
    skipped = 0,
    dropped = 0,
    waiting = 0,
    missing = 0,
    jobsMissing = 0,
    failed = 0;
  for (const jobId of jobIds) {
    const a = after.get(jobId)!;
    const b = before.get(jobId) ?? { skipped: 0, dropped: 0, runs: 0, fails: 0 };
    const d = delivered.get(jobId)?.size ?? 0;
    const s = a.skipped - b.skipped;
    const dr = a.dropped - b.dropped;
    const p = pending.get(jobId) ?? 0;
    const m = 60 - d - s - dr - p;
    due += 60;
    got += d;
    skipped += s;
    dropped += dr;
    waiting += p;
    failed += a.fails - b.fails;
    missing += Math.abs(m);
    if (m !== 0) jobsMissing++;
  }
  const onTime = (jobId: string) => inPhase.has(jobId) && !catchUp.has(jobId);
  const rssAfter10 = samples.filter((s) => s.at >= from + 10_000).map((s) => s.rss);
  const shed = await (await fetch(`${node.server.port ? `http://127.0.0.1:${node.server.port}` : ""}/metrics`)).text();
  const shedLines = shed.split("\n").filter((l) => l.startsWith("cronmesh_runs_shed_total") || l.startsWith("cronmesh_runs_started_late_total"));
  return [
    `${name}: ${jobIds.length} jobs due each second for 60 s; load average at start ${loadAtStart}, after ${load()}`,
    `  due ${due}, delivered ${got} (${((100 * got) / due).toFixed(1)}%), skipped ${skipped}, dropped ${dropped}, pending ${waiting}, failed ${failed}; unaccounted ${missing} slots in ${jobsMissing} jobs; delivered twice ${duplicates}`,
    "  lateness of skip/fire_once deliveries (arrival − slot), by slot:",
    ...latenessByWindow(recs, from, onTime),
    `  catch_up deliveries (window ${CATCH_UP_WINDOW_MS / 1000} s): ${fmt(
      recs
        .filter((r) => catchUp.has(r[0]))
        .map((r) => r[2] - Date.parse(r[1]))
        .sort((a, b) => a - b),
    )}`,
    "  node, by second of the minute:",
    ...samplesByWindow(samples, from),
    `  RSS from 10 s to 60 s: ${(Math.min(...rssAfter10) / 1e6).toFixed(0)}-${(Math.max(...rssAfter10) / 1e6).toFixed(0)} MB (at 10 s ${((rssAfter10[0] ?? 0) / 1e6).toFixed(0)}, at 60 s ${((rssAfter10[rssAfter10.length - 1] ?? 0) / 1e6).toFixed(0)})`,
    `  ${shedLines.join("; ")}`,
  ];
}

const sink = await startSink();
const dir = mkdtempSync(join(tmpdir(), "cronmesh-bench-overload-"));
const env = { PORT: "0", HOST: "127.0.0.1", DATA_DIR: dir, LOG_LEVEL: "warn", WORKER_CONCURRENCY: String(WORKERS), HTTP_CONNECTIONS: String(CONNECTIONS) };
const config = loadConfig(env);
// A second connection to the node's SQLite file, for writing the jobs (see the top of this file).
const writer = createSqliteStore({ path: config.sqlitePath });
await writer.init();
// Stop by itself whatever happens.
setTimeout(() => {
  console.error("bench:overload: gave up after 20 minutes");
  process.exit(2);
}, 20 * 60_000).unref();
console.log(`bench:overload: load average ${load()}`);
const probeStart = minuteAfter(writeMs(PROBE_JOBS) + CREATE_MARGIN_MS);
await createProbe(writer, sink.url, probeStart);
const node = await startNode(config, { env: { ...process.env, ...env } });
const c = clients(`http://127.0.0.1:${node.server.port}`);
try {
  const capacity = await probe(node, sink, probeStart);
  const rawMs = median(await Promise.all([0, 1, 2].map(async () => rawBaseline(sink.url, capacity * 5, "dispatch"))));
  console.log(
    `reference: a bare undici dispatch() loop posts ${capacity * 5} requests to the same sink in ${rawMs.toFixed(0)} ms (${Math.round((capacity * 5 * 1000) / rawMs)}/s); the node's capacity is ${(((capacity * rawMs) / (capacity * 5 * 1000)) * 100).toFixed(0)}% of that rate`,
  );
  const sizes = RATIOS.map((r) => Math.round(r * capacity));
  const largest = Math.max(...sizes);
  // Job i belongs to the phases whose size exceeds i; phases are whole minutes, two apart.
  const creating = Date.now();
  const first = minuteAfter(writeMs(largest) + CREATE_MARGIN_MS);
  const minutes = RATIOS.map((_, k) => first + k * 120_000);
  const specs = Array.from({ length: largest }, (_, i) => {
    const in_ = minutes.filter((_, k) => i < sizes[k]!).map((m) => new Date(m).getUTCMinutes());
    const m = new Date(minutes[sizes.findIndex((s) => i < s)]!);
    return { schedule: `* ${in_.join(",")} ${m.getUTCHours()} ${m.getUTCDate()} ${m.getUTCMonth() + 1} *`, policy: policyOf(i) };
  });
  const ids = await createJobs(writer, sink.url, "phase", specs);
  await writer.close();
  console.log(
    `phases: wrote ${largest} jobs in ${((Date.now() - creating) / 1000).toFixed(1)} s (phases at ${RATIOS.join("x, ")}x the capacity: ${sizes.join(", ")} jobs)`,
  );
  if (Date.now() > first - 10_000) throw new Error("writing the phases' jobs took longer than their lead");
  const catchUp = new Set(ids.filter((_, i) => policyOf(i) === "catch_up"));
  let before = await countersOf(c);
  for (const [k, ratio] of RATIOS.entries()) {
    for (const line of await phase(node, c, sink, `${ratio}x capacity (${sizes[k]} jobs)`, ids.slice(0, sizes[k]), minutes[k]!, before, catchUp))
      console.log(line);
    before = await countersOf(c);
  }
} finally {
  await node.stop();
  await sink.report();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
