// What bench/peers makes of a run: the sink's deliveries against the measured slots, one JSON file
// per run under bench/results/, and the Markdown table of ratios built from the latest of them.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Rec } from "../loopback.js";
import type { Measured } from "./scenarios.js";
import type { RoleUsage } from "./usage.js";

/** Lateness figures of some deliveries, in ms (arrival at the sink − nominal slot). */
export interface Lateness {
  n: number;
  min: number;
  p50: number;
  p99: number;
  max: number;
}

/** What the sink saw of the measured slots. */
export interface Deliveries {
  expected: number;
  /** Distinct (job, slot) pairs of measured slots that arrived before collection. */
  delivered: number;
  deliveredPct: number;
  /** Deliveries of a pair already delivered. */
  duplicates: number;
  /** Of each pair's first delivery. */
  lateness: Lateness;
  /** The last first-delivery of each slot: the median slot and the worst one. */
  lastPerSlot: { median: number; worst: number };
  /** The cold first burst, measured apart. */
  cold?: Lateness & { delivered: number };
}

/** One run's result, as written to bench/results/. */
export interface RunResult {
  scenario: string;
  contestant: string;
  description: string;
  startedAt: string;
  /** The machine's 1-minute load average when the window began and when it ended. */
  load: { atStart: number; atEnd: number };
  window: { from: string; to: string };
  deliveries: Deliveries;
  /** CPU and peak memory per role over the window, and their totals. */
  usage: Record<string, RoleUsage>;
  total: { cpuSeconds: number; rssPeakMb: number };
  /** Runs of the measured slots the contestant's store holds as succeeded (cronmesh only). */
  persisted?: { runs: number; pct: number };
  /** Server counters over the window (cluster: MongoDB-wire commands, etcd messages), per delivery too. */
  counters?: Record<string, { total: number; perDelivery: number }>;
  info?: Record<string, unknown>;
  /** What the contestant process counted (requests sent, failed). */
  sender?: Record<string, unknown>;
  settings: Record<string, unknown>;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

function latenessOf(values: number[]): Lateness {
  const s = [...values].sort((a, b) => a - b);
  return { n: s.length, min: s[0] ?? NaN, p50: pct(s, 50), p99: pct(s, 99), max: s[s.length - 1] ?? NaN };
}

/** The deliveries of the measured slots among the sink's records. */
export function analyse(records: Rec[], m: Measured): Deliveries {
  const slotMs = new Map<string, number>();
  const seen = new Set<string>();
  const bySlot = new Map<number, number[]>();
  const cold: number[] = [];
  let duplicates = 0;
  for (const [jobId, slotText, arrival] of records) {
    let slot = slotMs.get(slotText);
    if (slot === undefined) slotMs.set(slotText, (slot = Date.parse(slotText)));
    const measured = m.slots.has(slot);
    if (!measured && slot !== m.coldSlot) continue;
    const key = `${jobId}|${slot}`;
    if (seen.has(key)) {
      duplicates++;
      continue;
    }
    seen.add(key);
    if (!measured) cold.push(arrival - slot);
    else if (bySlot.has(slot)) bySlot.get(slot)!.push(arrival - slot);
    else bySlot.set(slot, [arrival - slot]);
  }
  const expected = [...m.slots.values()].reduce((a, b) => a + b, 0);
  const all = [...bySlot.values()].flat();
  const lasts = [...bySlot.values()].map((l) => l.reduce((a, b) => Math.max(a, b))).sort((a, b) => a - b);
  return {
    expected,
    delivered: all.length,
    deliveredPct: (100 * all.length) / expected,
    duplicates,
    lateness: latenessOf(all),
    lastPerSlot: { median: pct(lasts, 50), worst: lasts[lasts.length - 1] ?? NaN },
    ...(m.coldSlot !== undefined ? { cold: { ...latenessOf(cold), delivered: cold.length } } : {}),
  };
}

/** Writes the run's JSON file to `dir` (created if missing); returns its path. */
export function writeResult(dir: string, r: RunResult): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${r.startedAt.replace(/[:.]/g, "-")}-${r.scenario}-${r.contestant}.json`);
  writeFileSync(file, `${JSON.stringify(r, null, 2)}\n`);
  return file;
}

/** The newest result of every (scenario, contestant) pair found in `dir`. */
export function latestResults(dir: string): RunResult[] {
  const latest = new Map<string, RunResult>();
  for (const name of readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()) {
    const r = JSON.parse(readFileSync(join(dir, name), "utf8")) as RunResult;
    latest.set(`${r.scenario}|${r.contestant}`, r);
  }
  return [...latest.values()];
}

const REFERENCES = ["raw", "croner", "bullmq"] as const;

const fixed = (x: number, digits = 0) => (Number.isFinite(x) ? x.toLocaleString("en", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "—");
const ratio = (a: number, b: number | undefined) => (b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0 ? "—" : `${(a / b).toFixed(2)}×`);

/** One scenario's table: figures of each contestant, and its p99 and CPU as ratios to the references'. */
function scenarioTable(results: RunResult[]): string {
  const ref = Object.fromEntries(REFERENCES.map((name) => [name, results.find((r) => r.contestant === name)]));
  const lines = [
    "| contestant | delivered | lateness p50 / p99 / max (ms) | p99 ÷ raw | ÷ croner | ÷ BullMQ | CPU s | CPU ms per delivery | CPU ÷ raw | ÷ croner | ÷ BullMQ | RSS MB | stored | load |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of results) {
    const d = r.deliveries;
    const l = d.lateness;
    const p99 = (x?: RunResult) => x?.deliveries.lateness.p99;
    const cpu = (x?: RunResult) => x?.total.cpuSeconds;
    lines.push(
      [
        r.contestant,
        `${fixed(d.deliveredPct, d.deliveredPct === 100 ? 0 : 1)}%${d.duplicates ? ` (+${d.duplicates} dup)` : ""}`,
        `${fixed(l.p50)} / ${fixed(l.p99)} / ${fixed(l.max)}`,
        ...REFERENCES.map((name) => ratio(l.p99, p99(ref[name]))),
        fixed(r.total.cpuSeconds, 1),
        fixed((1000 * r.total.cpuSeconds) / Math.max(1, d.delivered), 2),
        ...REFERENCES.map((name) => ratio(r.total.cpuSeconds, cpu(ref[name]))),
        fixed(r.total.rssPeakMb),
        r.persisted ? `${fixed(r.persisted.pct, r.persisted.pct === 100 ? 0 : 1)}%` : "—",
        `${r.load.atStart.toFixed(1)}–${r.load.atEnd.toFixed(1)}`,
      ]
        .join(" | ")
        .replace(/^/, "| ")
        .concat(" |"),
    );
  }
  return lines.join("\n");
}

/** The Markdown report of the latest results: one table per scenario, scenarios and contestants in the orders given. */
export function markdown(results: RunResult[], order: string[], contestantOrder: string[]): string {
  const parts = [
    "# bench:peers, latest results",
    "",
    "Lateness = arrival at the sink − nominal slot. Ratios divide by the reference's figure of its own latest run of the scenario. CPU and RSS: the contestant's processes and servers (Redis, etcd, FerretDB, PostgreSQL) over the window; stored = runs of the measured slots the store holds as succeeded; load = the 1-minute load average at the window's start and end.",
    "",
  ];
  const scenarios = [...new Set(results.map((r) => r.scenario))].sort((a, b) => order.indexOf(a) - order.indexOf(b));
  for (const s of scenarios) {
    const rs = results.filter((r) => r.scenario === s).sort((a, b) => contestantOrder.indexOf(a.contestant) - contestantOrder.indexOf(b.contestant));
    parts.push(`## ${s}: ${rs[0]!.settings.scenarioDescription as string}`, "", scenarioTable(rs), "");
  }
  return parts.join("\n");
}
