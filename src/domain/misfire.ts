/**
 * Misfire policy: what the scheduler fires for a job whose stored slot (`nextTriggerAt`) is due.
 *
 * Every slot from `nextTriggerAt` up to `now` is due, except those before `start_at` or after
 * `end_at`. A due slot at most `graceMs` old (`now − slot ≤ graceMs`) is on time and fires with
 * trigger `schedule`. Older slots were missed (the service was down, a leader was paused), and the
 * job's misfire policy decides:
 *
 * - `skip`: none fires; all are counted as skipped.
 * - `fire_once`: the latest missed slot fires (trigger `catch_up`); the others are skipped. When a
 *   slot is on time, it is the one run and every missed slot is skipped.
 * - `catch_up`: missed slots inside the catch-up window (`slot ≥ now − catchup_window`) fire
 *   (trigger `catch_up`), oldest first, but at most `maxCatchUp` of them, and these are the most
 *   recent ones: the newest missed slots are the closest to what the job would do now, and the
 *   oldest are the first to leave the window anyway. In-window slots beyond the cap are counted as
 *   dropped; missed slots older than the window are counted as skipped.
 *
 * A one-shot job (`run_at`) has a single slot, treated the same way: on time it fires as
 * scheduled; missed, `skip` skips it, `fire_once` fires it, and `catch_up` fires it when it is
 * inside the window (skipped otherwise).
 *
 * The decision is bounded whatever the downtime: it walks at most {@link MAX_SLOTS_WALKED} slots
 * per region (on time, missed inside the window, missed outside it), like Kubernetes' CronJob
 * controller, which stops counting missed schedules at 100. Counts are exact up to that many
 * slots; beyond it they are extrapolated from the mean spacing of the most recent ones walked (exact
 * for evenly spaced schedules such as `* * * * * *`). The next slot is found from `now` directly,
 * never by walking the missed ones. So an every-second job after a week of downtime costs a few
 * hundred cron steps, not 600,000.
 */
import type { JobSpec } from "./job.js";
import { nextTriggerAt } from "./next-trigger.js";
import { previousFireTimes } from "./schedule.js";

/**
 * The most slots walked per region of a decision; also the most slots fired at once. Kubernetes
 * caps its count of missed schedules at 100 for the same reason: past that, the exact number no
 * longer changes what to do, only how long it takes to find out.
 */
export const MAX_SLOTS_WALKED = 100;

/** Why the scheduler starts a run: its slot is on time, or it is a missed slot fired late. */
export type SlotTrigger = "schedule" | "catch_up";

/** One slot to fire now, by its nominal time. */
export interface FiredSlot {
  slot: number;
  trigger: SlotTrigger;
}

/** What to do for a due job. Times are epoch ms. */
export interface MisfireDecision {
  /** Slots to fire now, ascending. */
  fire: FiredSlot[];
  /** Missed slots left out by the policy (approximate past {@link MAX_SLOTS_WALKED}, see above). */
  skipped: number;
  /** Missed slots inside the catch-up window that the cap left out. */
  dropped: number;
  /** The first slot strictly after `now`; undefined when the job will not fire again. */
  next: number | undefined;
}

/** The inputs of {@link resolveMisfire}. */
export interface MisfireInput {
  spec: JobSpec;
  /** The job's stored next slot; the job is due, so normally ≤ `now`. */
  nextTriggerAt: number;
  now: number;
  /** A slot at most this old is on time. */
  graceMs: number;
  /** The most missed slots `catch_up` fires at once (itself at most {@link MAX_SLOTS_WALKED}). */
  maxCatchUp: number;
}

/** A half-open range [from, to) of epoch ms. */
interface Range {
  from: number;
  to: number;
}

const NOTHING_MISSED = { fire: [], skipped: 0, dropped: 0 };

/**
 * Decides which due slots of a job fire now, how many were skipped or dropped, and the job's next
 * slot, under the job's misfire policy (see the module comment for the rules). Pure and bounded.
 */
export function resolveMisfire(input: MisfireInput): MisfireDecision {
  const { spec, now } = input;
  if (input.nextTriggerAt > now) return { ...NOTHING_MISSED, fire: [], next: input.nextTriggerAt };
  const due = dueRange(input);
  const onTimeFrom = Math.min(due.to, Math.max(due.from, now - input.graceMs));
  const onTime = capped(input, { from: onTimeFrom, to: due.to }, MAX_SLOTS_WALKED);
  const missed = collapseOnTime(input, decideMissed(input, { from: due.from, to: onTimeFrom }), onTime.slots.length > 0);
  return {
    fire: [...missed.fire, ...onTime.slots.map((slot) => ({ slot, trigger: "schedule" as const }))],
    skipped: missed.skipped,
    dropped: missed.dropped + onTime.dropped,
    next: spec.runAt !== undefined ? undefined : nextTriggerAt(spec, now),
  };
}

/**
 * Under fire_once an on-time slot already is the one run: the latest missed slot is then skipped
 * too, so a leader that missed one slot and is back on time does not fire twice in a row.
 */
function collapseOnTime(input: MisfireInput, missed: Omit<MisfireDecision, "next">, hasOnTime: boolean): Omit<MisfireDecision, "next"> {
  if (input.spec.misfirePolicy !== "fire_once" || !hasOnTime || missed.fire.length === 0) return missed;
  return { fire: [], skipped: missed.skipped + missed.fire.length, dropped: missed.dropped };
}

/** Due slots lie in [max(nextTriggerAt, start_at), min(now, end_at)]. */
function dueRange({ spec, nextTriggerAt, now }: MisfireInput): Range {
  const from = Math.max(nextTriggerAt, spec.startAt ?? -Infinity);
  const to = Math.min(now, spec.endAt ?? Infinity) + 1;
  return { from, to: Math.max(from, to) };
}

/** The part of the decision about missed slots, which lie in `missed`. */
function decideMissed(input: MisfireInput, missed: Range): Omit<MisfireDecision, "next"> {
  if (missed.from >= missed.to) return NOTHING_MISSED;
  switch (input.spec.misfirePolicy) {
    case "skip":
      return { fire: [], skipped: countSlots(input, missed), dropped: 0 };
    case "fire_once": {
      const [latest] = latestSlots(input, missed, 1);
      if (latest === undefined) return NOTHING_MISSED;
      return { fire: [{ slot: latest, trigger: "catch_up" }], skipped: countSlots(input, missed) - 1, dropped: 0 };
    }
    case "catch_up":
      return catchUp(input, missed);
  }
}

/** Fires the most recent missed slots inside the catch-up window, oldest of them first. */
function catchUp(input: MisfireInput, missed: Range): Omit<MisfireDecision, "next"> {
  const windowFrom = Math.min(missed.to, Math.max(missed.from, input.now - input.spec.catchupWindowMs));
  const inWindow = { from: windowFrom, to: missed.to };
  const fired = capped(input, inWindow, Math.max(0, Math.min(input.maxCatchUp, MAX_SLOTS_WALKED)));
  return {
    fire: fired.slots.map((slot) => ({ slot, trigger: "catch_up" })),
    skipped: countSlots(input, { from: missed.from, to: windowFrom }),
    dropped: fired.dropped,
  };
}

/** The latest `cap` slots of `range`, ascending, and how many older ones the cap left out. */
function capped(input: MisfireInput, range: Range, cap: number): { slots: number[]; dropped: number } {
  const slots = latestSlots(input, range, cap).reverse();
  return { slots, dropped: slots.length < cap ? 0 : countSlots(input, range) - slots.length };
}

/**
 * The latest `limit` due slots in `range`, newest first: slots of the schedule after the stored
 * `nextTriggerAt`, and that stored slot itself (the only slot of a one-shot job).
 */
function latestSlots({ spec, nextTriggerAt }: MisfireInput, range: Range, limit: number): number[] {
  if (range.from >= range.to || limit <= 0) return [];
  const since = Math.max(range.from, nextTriggerAt + 1);
  const out = spec.runAt !== undefined || since >= range.to ? [] : previousFireTimes(spec.schedule, spec.timezone, range.to, limit, since);
  if (out.length < limit && nextTriggerAt >= range.from && nextTriggerAt < range.to) out.push(nextTriggerAt);
  return out;
}

/**
 * How many due slots lie in `range`: exact up to {@link MAX_SLOTS_WALKED}; beyond, the slots
 * walked plus the rest of the range divided by their mean spacing.
 */
function countSlots(input: MisfireInput, range: Range): number {
  const walked = latestSlots(input, range, MAX_SLOTS_WALKED);
  const newest = walked[0];
  const oldest = walked[walked.length - 1];
  if (walked.length < MAX_SLOTS_WALKED || newest === undefined || oldest === undefined) return walked.length;
  const spacing = (newest - oldest) / (walked.length - 1);
  return walked.length + Math.floor((oldest - Math.max(range.from, input.nextTriggerAt)) / spacing);
}
