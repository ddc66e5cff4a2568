import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Why a slot did not produce a delivered run. */
export type SkipReason = "overlap" | "misfire" | "catch_up_cap";

/**
 * Why a slot or run was shed for overload: `staging`, the fire loop did not stage it since it
 * could not start by its start deadline (or it was left unstaged while the queue was full, then
 * missed); `start_deadline`, a queued run reached its start deadline before a worker took it.
 */
export type ShedReason = "staging" | "start_deadline";

/** The node's queue and overload figures, read at scrape time. */
export interface LoadFigures {
  overloaded: boolean;
  queueBound: number;
  oldestQueuedAgeMs: number | undefined;
  startRate: number;
}

/** Live values read at scrape time. */
export interface MetricSources {
  deadLetterDepth(): Promise<number>;
  queueDepth(): number;
  isLeader(): boolean;
  /** Absent: the overload gauges read 0. */
  load?(): LoadFigures;
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
  /** Slots or runs shed for overload. */
  runsShed(reason: ShedReason, count: number): void;
  /** A run started past its start deadline on purpose (fire_once's newest slot, catch_up inside its window). */
  runsStartedLate(): void;
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
  const fires = tallied(
    "outcome",
    new Counter({ ...r, name: "cronmesh_fires_total", help: "Slots fired, by outcome.", labelNames: ["outcome"], collect: () => fires.flush() }),
  );
  const lateness = deferred(
    new Histogram({
      ...r,
      name: "cronmesh_fire_lateness_seconds",
      help: "Fire time minus due time.",
      buckets: LATENESS_BUCKETS,
      collect: () => lateness.flush(),
    }),
  );
  const startLateness = deferred(
    new Histogram({
      ...r,
      name: "cronmesh_run_start_lateness_seconds",
      help: "Run start minus due time.",
      buckets: LATENESS_BUCKETS,
      collect: () => startLateness.flush(),
    }),
  );
  const runs = tallied(
    "status",
    new Counter({ ...r, name: "cronmesh_runs_finished_total", help: "Runs by final status.", labelNames: ["status"], collect: () => runs.flush() }),
  );
  const attempts = tallied(
    "result",
    new Counter({ ...r, name: "cronmesh_attempts_total", help: "HTTP attempts, by result.", labelNames: ["result"], collect: () => attempts.flush() }),
  );
  const skipped = new Counter({ ...r, name: "cronmesh_slots_skipped_total", help: "Slots not run, by reason.", labelNames: ["reason"] });
  const shed = new Counter({
    ...r,
    name: "cronmesh_runs_shed_total",
    help: "Slots and runs shed for overload (not run: skipped and counted on their job), by reason.",
    labelNames: ["reason"],
  });
  const late = new Counter({
    ...r,
    name: "cronmesh_runs_started_late_total",
    help: "Runs started past their start deadline by their misfire policy (fire_once's newest slot, catch_up inside its window).",
  });
  const locks = new Counter({ ...r, name: "cronmesh_lock_failures_total", help: "Job locks that could not be acquired." });
  const expired = new Counter({
    ...r,
    name: "cronmesh_dead_letters_expired_total",
    help: "Dead letters deleted by the queue's retention (DEAD_LETTER_RETENTION) without a redrive.",
  });
  const purged = new Counter({
    ...r,
    name: "cronmesh_deleted_job_runs_purged_total",
    help: "Runs of deleted jobs deleted by their retention (DELETED_JOB_RUN_RETENTION).",
  });
  const rpcCount = new Counter({ ...r, name: "cronmesh_rpcs_total", help: "RPCs, by method and code.", labelNames: ["method", "code"] });
  const rpcs = new Histogram({ ...r, name: "cronmesh_rpc_duration_seconds", help: "RPC latency.", labelNames: ["method", "code"], buckets: RPC_BUCKETS });
  // While the store cannot answer, the depth keeps its last value: a failed count must not fail the whole scrape.
  let deadLetters = 0;
  new Gauge({
    ...r,
    name: "cronmesh_dead_letter_depth",
    help: "Failed runs waiting in the dead-letter queue (not redriven, not expired).",
    async collect() {
      this.set((deadLetters = await sources.deadLetterDepth().catch(() => deadLetters)));
    },
  });
  new Gauge({
    ...r,
    name: "cronmesh_queue_depth",
    help: "Runs accepted by this node and not started yet (held for their due time, or waiting for a worker).",
    collect() {
      this.set(sources.queueDepth());
    },
  });
  new Gauge({
    ...r,
    name: "cronmesh_is_leader",
    help: "1 while this node fires slots.",
    collect() {
      this.set(sources.isLeader() ? 1 : 0);
    },
  });
  loadGauges(r, sources);
  return {
    fired(outcome, latenessMs) {
      fires.inc(outcome);
      lateness.observe(Math.max(0, latenessMs) / 1000);
    },
    runStarted: (latenessMs) => startLateness.observe(Math.max(0, latenessMs) / 1000),
    runFinished: (status) => runs.inc(status),
    attempt: (ok) => attempts.inc(ok ? "success" : "failure"),
    slotsSkipped: (reason, count) => count > 0 && skipped.inc({ reason }, count),
    runsShed: (reason, count) => count > 0 && shed.inc({ reason }, count),
    runsStartedLate: () => late.inc(),
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

/** The overload gauges, read from `sources.load` at scrape time. */
function loadGauges(r: { registers: Registry[] }, sources: MetricSources): void {
  const figure = (read: (l: LoadFigures) => number) => () => (sources.load ? read(sources.load()) : 0);
  const gauges: [string, string, () => number][] = [
    [
      "cronmesh_overload",
      "1 while this node sheds load (its run queue reached its bound, or runs passed their start deadline).",
      figure((l) => (l.overloaded ? 1 : 0)),
    ],
    [
      "cronmesh_queue_bound",
      "Most runs this node accepts before staging and claims wait (MAX_QUEUED_RUNS, or the measured start rate × 1 s).",
      figure((l) => l.queueBound),
    ],
    [
      "cronmesh_queue_oldest_age_seconds",
      "How long the oldest run waiting for a worker on this node has been due (0 when none waits).",
      figure((l) => (l.oldestQueuedAgeMs ?? 0) / 1000),
    ],
    ["cronmesh_start_rate", "Runs this node starts per second while runs wait for a worker (measured).", figure((l) => l.startRate)],
  ];
  for (const [name, help, read] of gauges)
    new Gauge({
      ...r,
      name,
      help,
      collect() {
        this.set(read());
      },
    });
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
