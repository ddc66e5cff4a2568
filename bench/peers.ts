// cronmesh against what a team would otherwise use (npm run bench:peers [-- scenario… contestant…]).
// Every contestant sends the same POST with the same headers to a fresh loopback sink (a child
// process), one contestant at a time; the sink measures delivered slots and lateness = arrival −
// nominal slot, /proc the contestant's CPU and memory (its servers included). One JSON file per
// run goes to bench/results/, and bench/results/latest.md holds the tables of ratios.
//
// Arguments name scenarios (every-1000 every-5000 every-8000 spread burst) and contestants (raw
// croner bullmq embedded cluster-pg cluster-sqlite); none of a kind means all of it. Settings:
// BENCH_SECONDS (15), BENCH_SETTLE_MS (5000), BENCH_DRAIN_MS (5000), BENCH_BURSTS (3),
// BENCH_BURST_LEAD_MS, BENCH_ETCD_MEMBERS (1), BENCH_MAX_LOAD (3) and BENCH_LOAD_WAIT_MS (300000):
// a run waits that long at most for the machine's load average to fall below BENCH_MAX_LOAD.
// BENCH_PROFILE=dir: each cronmesh process writes a V8 CPU profile into dir when it stops.
import { loadavg } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { mkdirSync, writeFileSync } from "node:fs";
import { rawBaseline, startSink } from "./loopback.js";
import { CONTESTANTS, type Contestant, type Running } from "./peers/contestants.js";
import { analyse, latestResults, markdown, writeResult, type RunResult } from "./peers/report.js";
import { scenarios, type Scenario, type ScenarioSettings } from "./peers/scenarios.js";
import { createUsageMeter, type RoleUsage } from "./peers/usage.js";

const RESULTS_DIR = fileURLToPath(new URL("./results", import.meta.url));
const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const settings: ScenarioSettings = {
  seconds: num("BENCH_SECONDS", 15),
  settleMs: num("BENCH_SETTLE_MS", 5000),
  drainMs: num("BENCH_DRAIN_MS", 5000),
  bursts: Math.min(4, Math.max(2, num("BENCH_BURSTS", 3))),
};
const MAX_LOAD = num("BENCH_MAX_LOAD", 3);
const LOAD_WAIT_MS = num("BENCH_LOAD_WAIT_MS", 300_000);
/** Requests a fresh sink gets before anything is measured against it (its code compiled, as a long-running target's). */
const SINK_WARM_UP = 500;

const sleepUntil = (t: number) => sleep(Math.max(0, t - Date.now()));

/** Waits (at most LOAD_WAIT_MS) for the 1-minute load average to fall below MAX_LOAD; returns it. */
async function waitForQuiet(): Promise<number> {
  const deadline = Date.now() + LOAD_WAIT_MS;
  while (loadavg()[0]! >= MAX_LOAD && Date.now() < deadline) {
    console.log(`  load ${loadavg()[0]!.toFixed(2)} >= ${MAX_LOAD}: waiting`);
    await sleep(15_000);
  }
  return loadavg()[0]!;
}

/** Server counters' change over the window, in total and per delivery. */
function counterDelta(before: Record<string, number>, after: Record<string, number>, deliveries: number) {
  const out: Record<string, { total: number; perDelivery: number }> = {};
  for (const [k, v] of Object.entries(after)) {
    const total = v - (before[k] ?? 0);
    if (total > 0) out[k] = { total, perDelivery: Number((total / Math.max(1, deliveries)).toFixed(3)) };
  }
  return out;
}

function totalOf(usage: Record<string, RoleUsage>) {
  const us = Object.values(usage);
  return { cpuSeconds: us.reduce((a, u) => a + u.cpuSeconds, 0), rssPeakMb: us.reduce((a, u) => a + u.rssPeakMb, 0) };
}

/** What the run under way has started: stopped on a signal, so that no server outlives the bench. */
let stopCurrent: (() => Promise<unknown>) | undefined;
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.once(signal, () => {
    console.error(`bench:peers: ${signal}: stopping the run under way`);
    void (stopCurrent?.() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}

/** One scenario with one contestant, from a fresh sink to the result file. */
async function runOne(scenario: Scenario, contestant: Contestant): Promise<RunResult> {
  const sink = await startSink();
  await rawBaseline(sink.url, SINK_WARM_UP, "dispatch");
  const prepared = scenario.prepare(Number(process.env.BENCH_BURST_LEAD_MS ?? contestant.burstLeadMs));
  let running: Running | undefined;
  let reported = false;
  try {
    const starting = contestant.start();
    stopCurrent = async () => (await starting).stop();
    running = await starting;
    const creating = Date.now();
    await running.schedule(prepared, sink.url);
    const readyAt = Date.now();
    console.log(`  ${prepared.patterns.length.toLocaleString("en")} jobs set up in ${((readyAt - creating) / 1000).toFixed(1)} s`);
    const m = prepared.measure(readyAt);
    await sleepUntil(m.from);
    const meter = createUsageMeter(running.roles);
    const [before, info] = await Promise.all([running.counters?.() ?? {}, running.info?.()]);
    const load = { atStart: loadavg()[0]!, atEnd: NaN };
    meter.start();
    await sleepUntil(m.to);
    const usage = meter.stop();
    load.atEnd = loadavg()[0]!;
    const after = (await running.counters?.()) ?? {};
    await sleepUntil(m.collectAt);
    reported = true;
    const deliveries = analyse(await sink.report(), m);
    const slots = [...m.slots.keys()];
    const stored = await running.persisted?.(slots);
    const sender = await running.stop();
    running = undefined;
    return {
      scenario: scenario.name,
      contestant: contestant.name,
      description: contestant.description,
      startedAt: new Date(creating).toISOString(),
      load,
      window: { from: new Date(m.from).toISOString(), to: new Date(m.to).toISOString() },
      deliveries,
      usage,
      total: totalOf(usage),
      ...(stored !== undefined ? { persisted: { runs: stored, pct: (100 * stored) / deliveries.expected } } : {}),
      ...(Object.keys(after).length ? { counters: counterDelta(before, after, deliveries.delivered) } : {}),
      ...(info ? { info } : {}),
      ...(sender ? { sender } : {}),
      settings: { ...settings, scenarioDescription: scenario.description, setupSeconds: (readyAt - creating) / 1000 },
    };
  } finally {
    stopCurrent = undefined;
    await running?.stop().catch(() => undefined);
    // The sink exits once it has reported; one not asked yet is asked now, so that it exits.
    if (!reported) await sink.report().catch(() => undefined);
  }
}

function summary(r: RunResult): string {
  const d = r.deliveries;
  const l = d.lateness;
  const stored = r.persisted ? `, stored ${r.persisted.pct.toFixed(1)}%` : "";
  const cold = d.cold ? `; cold first burst p99 ${d.cold.p99} max ${d.cold.max} ms` : "";
  return `  delivered ${d.deliveredPct.toFixed(2)}% (${d.delivered}/${d.expected}, ${d.duplicates} dup)${stored}, lateness p50 ${l.p50} p99 ${l.p99} max ${l.max} ms${cold}; CPU ${r.total.cpuSeconds.toFixed(1)} s (${((1000 * r.total.cpuSeconds) / Math.max(1, d.delivered)).toFixed(2)} ms per delivery), RSS ${r.total.rssPeakMb.toFixed(0)} MB; load ${r.load.atStart.toFixed(1)}–${r.load.atEnd.toFixed(1)}`;
}

mkdirSync(RESULTS_DIR, { recursive: true });
const all = scenarios(settings);
const args = process.argv.slice(2);
const unknown = args.filter((a) => !all.some((s) => s.name === a) && !CONTESTANTS.some((c) => c.name === a));
if (unknown.length) {
  console.error(`unknown: ${unknown.join(" ")}; scenarios: ${all.map((s) => s.name).join(" ")}; contestants: ${CONTESTANTS.map((c) => c.name).join(" ")}`);
  process.exit(2);
}
const chosenScenarios = all.filter((s) => args.includes(s.name));
const chosenContestants = CONTESTANTS.filter((c) => args.includes(c.name));
const runScenarios = chosenScenarios.length ? chosenScenarios : all.filter((s) => !s.onlyWhenNamed);
let failures = 0;
for (const scenario of runScenarios) {
  const contestants = chosenContestants.length
    ? chosenContestants
    : CONTESTANTS.filter((c) => !c.defaultScenarios || c.defaultScenarios.includes(scenario.name));
  for (const contestant of contestants) {
    const load = await waitForQuiet();
    console.log(`${scenario.name} × ${contestant.name} (load ${load.toFixed(2)})`);
    try {
      const result = await runOne(scenario, contestant);
      console.log(summary(result));
      console.log(`  → ${writeResult(RESULTS_DIR, result)}`);
    } catch (err) {
      failures++;
      console.error(`  failed: ${err instanceof Error ? err.stack : String(err)}`);
    }
    writeFileSync(
      join(RESULTS_DIR, "latest.md"),
      markdown(
        latestResults(RESULTS_DIR),
        all.map((s) => s.name),
        CONTESTANTS.map((c) => c.name),
      ),
    );
  }
}
console.log(`\ntables: ${join(RESULTS_DIR, "latest.md")}`);
process.exit(failures ? 1 : 0);
