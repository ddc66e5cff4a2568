// The scenarios of bench/peers: which jobs exist (one cron expression each, seconds first, UTC),
// when they are due, and which of their slots are measured once every job exists.

/** The slots measured in one run, and the window whose CPU and memory are metered. */
export interface Measured {
  /** Measured slot (epoch ms) → deliveries it should get (one per job due then). */
  slots: Map<number, number>;
  /** Metering window. */
  from: number;
  to: number;
  /** When the sink's records are taken: deliveries of a measured slot arriving later count as lost. */
  collectAt: number;
  /** The first burst, reported on its own and not measured (it runs code not yet optimised). */
  coldSlot?: number;
}

/** A scenario made ready for one run. */
export interface Prepared {
  /** One cron expression per job; job `i` is the i-th. */
  patterns: string[];
  /** Jobs due together, by group number (the raw contestant's plan refers to them). */
  groups: number[][];
  /** The instants in [from, to) at which a group is due: [epoch ms, group number]. */
  fires(from: number, to: number): [number, number][];
  /**
   * The measurement of a run whose jobs all exist since `readyAt`. Throws when they were made too
   * late for the scenario's slots (a burst whose lead time creating the jobs exceeded).
   */
  measure(readyAt: number): Measured;
}

/** A scenario. */
export interface Scenario {
  name: string;
  description: string;
  /** Runs only when named (a full run leaves it out). */
  onlyWhenNamed?: boolean;
  /** Prepares a run; `leadMs` is how long the contestant may take to create the jobs (bursts are placed after it). */
  prepare(leadMs: number): Prepared;
}

/** Scenario settings from the environment. */
export interface ScenarioSettings {
  /** Seconds measured by the every-second scenarios (BENCH_SECONDS). */
  seconds: number;
  /** Time between the last job created and the measured window (BENCH_SETTLE_MS): the first seconds run cold code. */
  settleMs: number;
  /** Time after the window before the sink's records are taken (BENCH_DRAIN_MS). */
  drainMs: number;
  /** Bursts of the burst scenario (BENCH_BURSTS, 2–4); the first is reported apart. */
  bursts: number;
}

/** Seconds between two bursts: time for the slowest contestant's burst to end before the next. */
const BURST_SPACING_S = 15;
/** The last burst's deliveries are metered this long (a burst that takes longer counts as late, not lost, until collection). */
const BURST_TAIL_MS = 12_000;
/** A burst's jobs must exist this long before its slot: cronmesh stages slots up to 5 s ahead. */
const BURST_MIN_LEAD_MS = 7_000;
/** CPU is metered from this long before the first measured burst, so that staging it counts. */
const BURST_STAGING_MS = 6_000;

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Whole seconds in [from, to). */
function secondsIn(from: number, to: number): number[] {
  const out: number[] = [];
  for (let t = Math.ceil(from / 1000) * 1000; t < to; t += 1000) out.push(t);
  return out;
}

/** `jobs` jobs, each due every second. */
function everySecond(jobs: number, s: ScenarioSettings, onlyWhenNamed = false): Scenario {
  return {
    onlyWhenNamed,
    name: `every-${jobs}`,
    description: `${jobs.toLocaleString("en")} jobs every second, ${s.seconds} s measured`,
    prepare: () => ({
      patterns: range(jobs).map(() => "* * * * * *"),
      groups: [range(jobs)],
      fires: (from, to) => secondsIn(from, to).map((t) => [t, 0]),
      measure(readyAt) {
        const from = Math.ceil(readyAt / 1000) * 1000 + s.settleMs;
        const to = from + s.seconds * 1000;
        return { slots: new Map(secondsIn(from, to).map((t) => [t, jobs])), from, to, collectAt: to + s.drainMs };
      },
    }),
  };
}

/** Seeded PRNG (mulberry32, as bench:fire's): every run spreads the jobs over the same seconds. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 10,000 jobs every minute, each at a random second; one whole minute measured. */
function spread(s: ScenarioSettings): Scenario {
  const JOBS = 10_000;
  return {
    name: "spread",
    description: "10,000 jobs every minute at random seconds, one minute measured",
    prepare() {
      const rnd = prng(42);
      const second = range(JOBS).map(() => Math.floor(rnd() * 60));
      const groups: number[][] = range(60).map(() => []);
      second.forEach((sec, i) => groups[sec]!.push(i));
      const secOf = (t: number) => new Date(t).getUTCSeconds();
      return {
        patterns: second.map((sec) => `${sec} * * * * *`),
        groups,
        fires: (from, to) =>
          secondsIn(from, to)
            .filter((t) => groups[secOf(t)]!.length > 0)
            .map((t) => [t, secOf(t)]),
        measure(readyAt) {
          const from = Math.ceil((readyAt + s.settleMs) / 60_000) * 60_000;
          const to = from + 60_000;
          const slots = new Map(
            secondsIn(from, to)
              .filter((t) => groups[secOf(t)]!.length > 0)
              .map((t) => [t, groups[secOf(t)]!.length]),
          );
          return { slots, from, to, collectAt: to + s.drainMs };
        },
      };
    },
  };
}

/** The first whole second at least `lead` ms away that leaves room for every burst in the same minute. */
function firstBurstSlot(lead: number, bursts: number): number {
  let slot = Math.ceil((Date.now() + lead) / 1000) * 1000;
  while (new Date(slot).getUTCSeconds() + (bursts - 1) * BURST_SPACING_S > 59) slot += 1000;
  return slot;
}

/** 10,000 jobs due at the same instants (one cron expression naming the bursts' seconds of one minute). */
function burst(s: ScenarioSettings): Scenario {
  const JOBS = 10_000;
  return {
    name: "burst",
    description: `10,000 jobs due at once, ${s.bursts} bursts ${BURST_SPACING_S} s apart (the first, cold, reported apart)`,
    prepare(leadMs) {
      const first = firstBurstSlot(leadMs, s.bursts);
      const instants = range(s.bursts).map((i) => first + i * BURST_SPACING_S * 1000);
      const d = new Date(first);
      const seconds = instants.map((t) => new Date(t).getUTCSeconds()).join(",");
      const pattern = `${seconds} ${d.getUTCMinutes()} ${d.getUTCHours()} ${d.getUTCDate()} ${d.getUTCMonth() + 1} *`;
      return {
        patterns: range(JOBS).map(() => pattern),
        groups: [range(JOBS)],
        fires: (from, to) => instants.filter((t) => t >= from && t < to).map((t) => [t, 0]),
        measure(readyAt) {
          if (readyAt > first - BURST_MIN_LEAD_MS)
            throw new Error(`creating the jobs took past the first burst's lead (${leadMs} ms); raise BENCH_BURST_LEAD_MS`);
          const warm = instants.slice(1);
          const last = instants[instants.length - 1]!;
          return {
            slots: new Map(warm.map((t) => [t, JOBS])),
            coldSlot: first,
            from: warm[0]! - BURST_STAGING_MS,
            to: last + BURST_TAIL_MS,
            collectAt: last + BURST_TAIL_MS + s.drainMs,
          };
        },
      };
    },
  };
}

/**
 * Every scenario, in the order a full run takes them. `every-300` (when named) is a load the
 * cluster contestants sustain on this machine: its CPU per delivered run is their cost per run,
 * not inflated by work on slots they then shed.
 */
export function scenarios(s: ScenarioSettings): Scenario[] {
  return [everySecond(300, s, true), everySecond(1000, s), everySecond(5000, s), everySecond(8000, s), spread(s), burst(s)];
}
