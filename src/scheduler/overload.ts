import type { Logger } from "pino";
import type { Clock, TimerHandle } from "../domain/clock.js";
import type { Metrics, ShedReason } from "../telemetry/metrics.js";

/** What the monitor reads of this node's run worker (`RunWorker` is one). */
export interface QueueSource {
  /** Runs accepted and not started yet: held for their due time, or waiting for a worker. */
  waiting(): number;
  /** How many jobs have runs waiting or executing here. */
  jobCount(): number;
  /** True when a run of the job waits or executes here. */
  hasJob(jobId: string): boolean;
  /** The due time of the oldest run waiting for a worker; undefined when none waits. */
  oldestWaitingDueAt(): number | undefined;
  /**
   * Runs started since the previous call, and whether runs waited for a worker all that time
   * (then the count is what the node can start, not what it was given).
   */
  takeStarts(): { started: number; saturated: boolean };
}

/** The load of one node, as GetClusterStatus and the metrics show it. */
export interface NodeLoad {
  overloaded: boolean;
  queuedRuns: number;
  queueBound: number;
  /** How long the oldest run waiting for a worker has been due (undefined when none waits). */
  oldestQueuedAgeMs: number | undefined;
  /** Runs started per second while runs waited; 0 before the first measurement, and once it is stale. */
  startRate: number;
  shedTotal: number;
}

/** Tuning of the monitor. */
export interface OverloadOptions {
  /** MAX_QUEUED_RUNS: a fixed queue bound; absent, the bound follows the measured start rate. */
  maxQueuedRuns?: number;
  /** WORKER_CONCURRENCY: the bound is never under one pool of runs. */
  concurrency: number;
}

/**
 * How full this node's run queue is, and whether it sheds load. The fire loop stages, and the
 * claim loop claims, only while there is {@link Overload.room}; what cannot start by its deadline
 * is shed (see domain/start-deadline.ts) and reported here.
 */
export interface Overload {
  /** Runs this node may still accept now (≤ 0 when its queue is at its bound). */
  room(): number;
  /**
   * Jobs with nothing here yet whose first run this node may still accept, beyond {@link room}:
   * the queue takes runs round-robin by job, so such a run waits for one run of each job ahead of
   * it, not for the backlog of a job that fanned out (a backfill, a catch-up). Up to the bound in
   * jobs: the queue holds at most twice its bound in runs.
   */
  newJobRoom(): number;
  /** True when a run of the job waits or executes here. */
  hasJob(jobId: string): boolean;
  /** How long a run accepted now should expect to wait for a worker, from the measured start rate. */
  expectedWaitMs(): number;
  /** Staging or claiming was held back for lack of room. */
  held(): void;
  /** Slots or runs were shed (counted in `cronmesh_runs_shed_total{reason}`). */
  shed(reason: ShedReason, count: number): void;
  /** A run started past its start deadline on purpose (fire_once's newest slot, catch_up inside its window). */
  startedLate(): void;
  readonly overloaded: boolean;
  load(): NodeLoad;
  /** Listens for the start and end of overload (the etcd membership carries it to GetClusterStatus). */
  onChange(listener: (load: NodeLoad) => void): void;
  stop(): void;
}

/**
 * The queue bound, in seconds of the measured start rate: a run accepted behind a full queue
 * still starts within about a second, the shortest start deadline (every-second jobs).
 */
const QUEUE_HORIZON_S = 1;

/**
 * The start rate assumed before the first measurement (runs per second): about what the 2-core
 * development machine starts while a slot's runs wait (bench:worker sends 10,000 runs due at one
 * instant in 0.6–1 s), so a 10,000-job slot is not held back before anything was measured.
 */
const INITIAL_START_RATE = 10_000;

/** How often the start rate is sampled. Long enough to hold many starts, short enough to follow a burst. */
const SAMPLE_MS = 250;

/**
 * Weight of a new sample in the start rate: an exponential moving average over about five samples
 * (1.25 s), which follows a change of load within seconds without swinging with every burst.
 */
const SAMPLE_WEIGHT = 0.2;

/**
 * The warning when overload starts, by what started it: a full queue, or runs shed while the
 * queue had room (slots staged too late, e.g. by a busy store or event loop, or runs that waited
 * past their deadline) — "the run queue is full" beside an empty queue misled the reader.
 */
const OVERLOAD_STARTS: Record<"held" | ShedReason, string> = {
  held: "overload: the run queue is full; staging slows, and runs that cannot start by their start deadline are decided by their misfire policy",
  staging: "overload: slots were staged too late to start by their start deadline; they are decided by their misfire policy",
  start_deadline: "overload: runs waited past their start deadline; they are decided by their misfire policy",
};

/** Overload ends once nothing was held back nor shed for this long (no warning per second at the edge). */
const CALM_MS = 5000;

/**
 * A measured start rate is forgotten once no sample was saturated for this long: the pool then
 * started everything it was given, so the rate says nothing of what it can start now. Kept, a
 * rate measured in a burst (creating thousands of jobs at once) held staging back for good: it
 * made staged runs held for their due time look like a second's wait, so the last chunk of every
 * second was shed, and the pool, never saturated again, never measured more.
 */
const STALE_RATE_MS = 5000;

/** Creates the monitor; it samples the start rate every {@link SAMPLE_MS} until stopped. */
export function createOverload(deps: { clock: Clock; queue: () => QueueSource; metrics: Metrics; log: Logger; options: OverloadOptions }): Overload {
  const { clock, metrics, log, options } = deps;
  let rate: number | undefined;
  let overloaded = false;
  let pressureAt = -Infinity;
  let since = 0;
  let shedTotal = 0;
  let shedSince = 0;
  const listeners: ((load: NodeLoad) => void)[] = [];
  const bound = () => options.maxQueuedRuns ?? Math.max(options.concurrency, Math.round((rate ?? INITIAL_START_RATE) * QUEUE_HORIZON_S));
  const load = (): NodeLoad => {
    const q = deps.queue();
    const oldest = q.oldestWaitingDueAt();
    return {
      overloaded,
      queuedRuns: q.waiting(),
      queueBound: bound(),
      startRate: Math.round(rate ?? 0),
      shedTotal,
      oldestQueuedAgeMs: oldest === undefined ? undefined : Math.max(0, clock.now() - oldest),
    };
  };
  const change = (to: boolean, cause: "held" | ShedReason = "held") => {
    overloaded = to;
    const now = clock.now();
    const l = load();
    const fields = { queuedRuns: l.queuedRuns, queueBound: l.queueBound, startRate: l.startRate, oldestQueuedAgeMs: l.oldestQueuedAgeMs };
    if (to) {
      since = now;
      shedSince = shedTotal;
      log.warn({ ...fields, cause }, OVERLOAD_STARTS[cause]);
    } else {
      log.warn({ ...fields, durationMs: now - since, shed: shedTotal - shedSince }, "overload ended: runs start on time again");
    }
    for (const listener of listeners) listener(l);
  };
  const pressure = (cause: "held" | ShedReason) => {
    pressureAt = clock.now();
    if (!overloaded) change(true, cause);
  };
  let timer: TimerHandle | undefined;
  let sampledAt = clock.now();
  let saturatedAt = -Infinity;
  const tick = () => {
    const now = clock.now();
    const { started, saturated } = deps.queue().takeStarts();
    // A busy event loop fires the timer late: the sample covers the time that really passed.
    if (saturated && started > 0 && now > sampledAt) {
      const sample = (started * 1000) / (now - sampledAt);
      rate = rate === undefined ? sample : rate + SAMPLE_WEIGHT * (sample - rate);
      saturatedAt = now;
    } else if (now - saturatedAt >= STALE_RATE_MS) {
      rate = undefined;
    }
    sampledAt = now;
    if (overloaded && now - pressureAt >= CALM_MS) change(false);
    timer = clock.setTimer(SAMPLE_MS, tick);
  };
  timer = clock.setTimer(SAMPLE_MS, tick);
  return {
    room: () => bound() - deps.queue().waiting(),
    newJobRoom: () => bound() - deps.queue().jobCount(),
    hasJob: (jobId) => deps.queue().hasJob(jobId),
    expectedWaitMs: () => (deps.queue().waiting() * 1000) / (rate ?? INITIAL_START_RATE),
    held: () => pressure("held"),
    shed(reason, count) {
      if (count <= 0) return;
      shedTotal += count;
      metrics.runsShed(reason, count);
      pressure(reason);
    },
    startedLate: () => metrics.runsStartedLate(),
    get overloaded() {
      return overloaded;
    },
    load,
    onChange: (listener) => void listeners.push(listener),
    stop: () => timer?.cancel(),
  };
}
