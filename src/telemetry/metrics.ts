import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Why a slot did not produce a delivered run. */
export type SkipReason = "overlap" | "misfire" | "catch_up_cap";

/** Live values read at scrape time. */
export interface MetricSources {
  deadLetterDepth(): Promise<number>;
  queueDepth(): number;
  isLeader(): boolean;
}

/**
 * The service's Prometheus metrics, served at /metrics. Every name lives here; the rest of the
 * code reports through these methods and never touches prom-client.
 */
export interface Metrics {
  /** A slot fired: its outcome and how late the fire was against the slot's due time (0 when staged ahead). */
  fired(outcome: "queued" | "skipped" | "adopted", latenessMs: number): void;
  /** A run started executing, this long after its due time: what a target sees of the scheduler's precision. */
  runStarted(latenessMs: number): void;
  runFinished(status: string): void;
  attempt(ok: boolean): void;
  slotsSkipped(reason: SkipReason, count: number): void;
  lockFailure(): void;
  /** Dead letters deleted by the dead-letter queue's retention. */
  deadLettersExpired(count: number): void;
  /** Runs of deleted jobs deleted by their retention (DELETED_JOB_RUN_RETENTION). */
  deletedJobRunsPurged(count: number): void;
  rpc(method: string, code: string, seconds: number): void;
  /** Prometheus text exposition of everything. */
  render(): Promise<{ contentType: string; body: string }>;
}

/** Lateness buckets in seconds: from 1 ms (timer precision) to 1 minute (a bad backlog). */
const LATENESS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** RPC latency buckets in seconds. */
const RPC_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** Creates the metrics on a registry of their own (plus Node's process metrics). */
export function createMetrics(sources: MetricSources): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "cronmesh_process_" });
  const r = { registers: [registry] };
  const fires = tallied("outcome", new Counter({ ...r, name: "cronmesh_fires_total", help: "Slots fired, by outcome.", labelNames: ["outcome"], collect: () => fires.flush() }));
  const lateness = deferred(new Histogram({ ...r, name: "cronmesh_fire_lateness_seconds", help: "Fire time minus due time.", buckets: LATENESS_BUCKETS, collect: () => lateness.flush() }));
  const startLateness = deferred(new Histogram({ ...r, name: "cronmesh_run_start_lateness_seconds", help: "Run start minus due time.", buckets: LATENESS_BUCKETS, collect: () => startLateness.flush() }));
  const runs = tallied("status", new Counter({ ...r, name: "cronmesh_runs_finished_total", help: "Runs by final status.", labelNames: ["status"], collect: () => runs.flush() }));
  const attempts = tallied("result", new Counter({ ...r, name: "cronmesh_attempts_total", help: "HTTP attempts, by result.", labelNames: ["result"], collect: () => attempts.flush() }));
  const skipped = new Counter({ ...r, name: "cronmesh_slots_skipped_total", help: "Slots not run, by reason.", labelNames: ["reason"] });
  const locks = new Counter({ ...r, name: "cronmesh_lock_failures_total", help: "Job locks that could not be acquired." });
  const expired = new Counter({ ...r, name: "cronmesh_dead_letters_expired_total", help: "Dead letters deleted by the queue's retention (DEAD_LETTER_RETENTION) without a redrive." });
  const purged = new Counter({ ...r, name: "cronmesh_deleted_job_runs_purged_total", help: "Runs of deleted jobs deleted by their retention (DELETED_JOB_RUN_RETENTION)." });
  const rpcCount = new Counter({ ...r, name: "cronmesh_rpcs_total", help: "RPCs, by method and code.", labelNames: ["method", "code"] });
  const rpcs = new Histogram({ ...r, name: "cronmesh_rpc_duration_seconds", help: "RPC latency.", labelNames: ["method", "code"], buckets: RPC_BUCKETS });
  // While the store cannot answer, the depth keeps its last value: a failed count must not fail the whole scrape.
  let deadLetters = 0;
  new Gauge({ ...r, name: "cronmesh_dead_letter_depth", help: "Failed runs waiting in the dead-letter queue (not redriven, not expired).", async collect() { this.set((deadLetters = await sources.deadLetterDepth().catch(() => deadLetters))); } });
  new Gauge({ ...r, name: "cronmesh_queue_depth", help: "Runs waiting for a worker on this node.", collect() { this.set(sources.queueDepth()); } });
  new Gauge({ ...r, name: "cronmesh_is_leader", help: "1 while this node fires slots.", collect() { this.set(sources.isLeader() ? 1 : 0); } });
  return {
    fired(outcome, latenessMs) {
      fires.inc(outcome);
      lateness.observe(Math.max(0, latenessMs) / 1000);
    },
    runStarted: (latenessMs) => startLateness.observe(Math.max(0, latenessMs) / 1000),
    runFinished: (status) => runs.inc(status),
    attempt: (ok) => attempts.inc(ok ? "success" : "failure"),
    slotsSkipped: (reason, count) => count > 0 && skipped.inc({ reason }, count),
    lockFailure: () => locks.inc(),
    deadLettersExpired: (count) => count > 0 && expired.inc(count),
    deletedJobRunsPurged: (count) => count > 0 && purged.inc(count),
    rpc(method, code, seconds) {
      rpcCount.inc({ method, code });
      rpcs.observe({ method, code }, seconds);
    },
    render: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  } as Metrics;
}

/**
 * Counts by one label in plain numbers between scrapes, added to the counter when it is
 * collected: prom-client hashes the label object on every increment, a cost paid per run.
 */
function tallied(label: string, counter: Counter<string>) {
  const counts = new Map<string, number>();
  return {
    inc: (value: string) => void counts.set(value, (counts.get(value) ?? 0) + 1),
    flush() {
      for (const [value, n] of counts) counter.inc({ [label]: value }, n);
      counts.clear();
    },
  };
}

/** Observations kept between scrapes, at most this many (then they are added at once). */
const MAX_DEFERRED = 10_000;

/** Histogram observations kept in an array until the histogram is collected (same reason as {@link tallied}). */
function deferred(histogram: Histogram) {
  let values: number[] = [];
  const flush = () => {
    const pending = values;
    values = [];
    for (const v of pending) histogram.observe(v);
  };
  return {
    observe(value: number) {
      values.push(value);
      if (values.length >= MAX_DEFERRED) flush();
    },
    flush,
  };
}
