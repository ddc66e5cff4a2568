/**
 * Start deadlines: how late a run may still start, and what becomes of one that cannot.
 *
 * A run is due at `dueAt` (its slot plus the slot's jitter; a manual run's creation time). It may
 * start until `dueAt + deadline`; past that it is *overdue*, and it is not started late by
 * accident: its job's misfire policy decides, as for a slot missed during downtime.
 *
 * - `skip`: the run ends `skipped` (overload).
 * - `fire_once`: only the newest due slot of the job runs: an overdue run whose next slot is due
 *   too is skipped (the newer slot is run, or decided, in its stead); the newest one starts late.
 * - `catch_up`: an overdue run starts late while its slot is inside the catch-up window, oldest
 *   first as the queue holds them; older ones are skipped.
 * - Manual triggers, replays and redrives have a deadline of their own (MANUAL_START_DEADLINE);
 *   past it they are skipped. Backfill runs have none: they are late on purpose, each asked for.
 *
 * The deadline of a slot's run is the job's `start_deadline` when set, else the smaller of the
 * interval to the job's next slot and its catch-up window: a run later than its interval would
 * overlap the next slot's, and one older than the catch-up window would not be caught up after
 * downtime either. No deadline is under {@link MIN_START_DEADLINE_MS}, so a run at most that late
 * is decided without reading its job (see {@link surelyOnTime}).
 */
import type { JobSpec, MisfirePolicy } from "./job.js";
import type { RunTrigger } from "./run.js";

/**
 * The shortest start deadline: cron slots are at least a second apart, and a run started within
 * a second of its due time is never overdue. Explicit deadlines below it are refused.
 */
export const MIN_START_DEADLINE_MS = 1000;

/** The default start deadline of manual triggers, replays and redrives (MANUAL_START_DEADLINE). */
export const MANUAL_START_DEADLINE_MS = 60_000;

/** Triggers whose runs an operator asked for now: they have the manual start deadline. */
const MANUAL_TRIGGERS: ReadonlySet<RunTrigger> = new Set(["manual", "replay", "redrive"]);

/** What to do with a run about to start (or about to be staged, at its expected start). */
export type StartDecision = { action: "start"; late: boolean } | { action: "skip"; reason: string };

/** The inputs of {@link decideStart}. Times are epoch ms. */
export interface StartInput {
  trigger: RunTrigger;
  policy: MisfirePolicy;
  scheduledAt: number;
  dueAt: number;
  /** When the run would start. */
  at: number;
  /** The run's start deadline (see {@link slotStartDeadline}; the manual one for manual kinds). */
  deadlineMs: number;
  catchupWindowMs: number;
  /** The job's slot after the run's slot (undefined when none): under `fire_once`, its being due supersedes the run. */
  nextSlot: number | undefined;
}

const START: StartDecision = { action: "start", late: false };
const START_LATE: StartDecision = { action: "start", late: true };

/**
 * True when a run starting at `at` is within every possible deadline: the decision is `start`
 * without reading its job (the hot path: one subtraction and one comparison).
 */
export function surelyOnTime(dueAt: number, at: number): boolean {
  return at - dueAt <= MIN_START_DEADLINE_MS;
}

/** True for the triggers that have the manual start deadline (trigger, replay, redrive). */
export function isManualTrigger(trigger: RunTrigger): boolean {
  return MANUAL_TRIGGERS.has(trigger);
}

/**
 * The start deadline of a slot's run: the job's `start_deadline`, else min(interval to the next
 * slot, catch-up window), never under {@link MIN_START_DEADLINE_MS}. A one-shot job (no next slot)
 * has its catch-up window.
 */
export function slotStartDeadline(spec: Pick<JobSpec, "startDeadlineMs" | "catchupWindowMs">, slot: number, nextSlot: number | undefined): number {
  if (spec.startDeadlineMs) return Math.max(MIN_START_DEADLINE_MS, spec.startDeadlineMs);
  const interval = nextSlot === undefined ? Infinity : nextSlot - slot;
  return Math.max(MIN_START_DEADLINE_MS, Math.min(interval, spec.catchupWindowMs));
}

/**
 * Decides whether a run may start at `input.at` (see the module comment): on time it starts; an
 * overdue one starts late or is skipped, by its kind and its job's misfire policy. Pure.
 */
export function decideStart(input: StartInput): StartDecision {
  if (input.trigger === "backfill" || input.at - input.dueAt <= input.deadlineMs) return START;
  const within = formatDeadline(input.deadlineMs);
  if (isManualTrigger(input.trigger)) return skip(`not started within its start deadline of ${within}`);
  switch (input.policy) {
    case "skip":
      return skip(`not started within its start deadline of ${within}`);
    case "fire_once":
      return input.nextSlot !== undefined && input.nextSlot <= input.at
        ? skip(`not started within its start deadline of ${within}, and a newer slot is due (fire_once)`)
        : START_LATE;
    case "catch_up":
      return input.at - input.scheduledAt <= input.catchupWindowMs
        ? START_LATE
        : skip(`not started within its start deadline of ${within} nor its catch-up window (catch_up)`);
  }
}

/** The result text every run shed by overload carries. */
export const OVERLOAD_REASON_PREFIX = "overload: ";

function skip(reason: string): StartDecision {
  return { action: "skip", reason: OVERLOAD_REASON_PREFIX + reason };
}

/** A deadline as people write it: `1s`, `1m30s`, `2h`. */
function formatDeadline(ms: number): string {
  const units: [number, string][] = [
    [3_600_000, "h"],
    [60_000, "m"],
    [1000, "s"],
    [1, "ms"],
  ];
  let rest = ms;
  let out = "";
  for (const [size, unit] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out || "0s";
}
