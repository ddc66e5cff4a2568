import { jitterOffset } from "../domain/jitter.js";
import type { JobRecord } from "../domain/job.js";
import { resolveMisfire, type MisfireDecision } from "../domain/misfire.js";
import { slotAfter } from "../domain/next-trigger.js";
import { decideStart, slotStartDeadline, surelyOnTime } from "../domain/start-deadline.js";

/** A slow fire within this much of its due time still counts as on time (trigger "schedule"). */
export const ON_TIME_GRACE_MS = 2000;
/** Catch-up fires at most this many missed slots of one job at once; the rest are counted as dropped. */
export const MAX_CATCH_UP = 100;

/** A job loaded into the timer heap: its slot, the slot's jittered due time and the slot after it. */
export interface LoadedJob {
  job: JobRecord;
  slot: number;
  dueAt: number;
  /** The nominal slot after `slot`, precomputed off the hot path; undefined when none. */
  nextSlot: number | undefined;
}

/** What to fire for a job now: its misfire decision, less the slots shed for overload. */
export interface FirePlan extends MisfireDecision {
  /** Due slots left out since their runs could not start by their start deadline (counted as skipped). */
  shed: number;
}

/** Computes due time and successor of a job's next slot (done at load time, not at fire time). */
export function loadJob(job: JobRecord): LoadedJob {
  const slot = job.nextTriggerAt!;
  const spec = job.spec;
  const nextSlot = slotAfter(spec, slot);
  return { job, slot, dueAt: slot + jitterOffset(job.jobId, slot, spec.maxJitterMs, nextSlot), nextSlot };
}

/**
 * What to fire for a loaded job at `now`, its runs expected to wait `expectedWaitMs` for a worker
 * (the node's queue ahead of them). The common case — the slot is due, on time, and its successor
 * is still in the future — is decided without cron maths; anything else (downtime, a paused
 * leader) goes through the misfire policy. Then a slot whose run could not start by its start
 * deadline is not staged: the start decision (domain/start-deadline.ts) is taken now, at the
 * run's expected start, so an overloaded node writes no run it would only skip.
 */
export function planFire(loaded: LoadedJob, now: number, expectedWaitMs = 0): FirePlan {
  const grace = loaded.job.spec.maxJitterMs + ON_TIME_GRACE_MS;
  const onTime = now - loaded.slot <= grace && (loaded.nextSlot === undefined || loaded.nextSlot > now);
  if (onTime && surelyOnTime(loaded.dueAt, Math.max(now, loaded.dueAt) + expectedWaitMs)) {
    return { fire: [{ slot: loaded.slot, trigger: "schedule" }], skipped: 0, dropped: 0, next: loaded.nextSlot, shed: 0 };
  }
  const decision: MisfireDecision = onTime
    ? { fire: [{ slot: loaded.slot, trigger: "schedule" }], skipped: 0, dropped: 0, next: loaded.nextSlot }
    : resolveMisfire({ spec: loaded.job.spec, nextTriggerAt: loaded.slot, now, graceMs: grace, maxCatchUp: MAX_CATCH_UP });
  return shedOverdue(loaded, decision, now, expectedWaitMs);
}

/**
 * The decision less the slots whose runs, started `expectedWaitMs` after their due time (or now,
 * when later), would be overdue and skipped. Fired slots are consecutive slots of the schedule,
 * so each one's successor is the next fired slot, and the last one's is the decision's next.
 */
function shedOverdue(loaded: LoadedJob, decision: MisfireDecision, now: number, expectedWaitMs: number): FirePlan {
  const { job } = loaded;
  const spec = job.spec;
  const fire = decision.fire.filter((f, i) => {
    const nextSlot = decision.fire[i + 1]?.slot ?? decision.next;
    const dueAt = dueAtOf(loaded, f.slot);
    const at = Math.max(now, dueAt) + expectedWaitMs;
    if (surelyOnTime(dueAt, at)) return true;
    const start = decideStart({
      trigger: f.trigger, policy: spec.misfirePolicy, scheduledAt: f.slot, dueAt, at,
      deadlineMs: slotStartDeadline(spec, f.slot, nextSlot), catchupWindowMs: spec.catchupWindowMs, nextSlot,
    });
    return start.action === "start";
  });
  return { ...decision, fire, shed: decision.fire.length - fire.length };
}

/** The due time of one of the job's slots: the loaded one's is known, another's is computed as its run's will be. */
export function dueAtOf(loaded: LoadedJob, slot: number): number {
  return slot === loaded.slot ? loaded.dueAt : slot + jitterOffset(loaded.job.jobId, slot, loaded.job.spec.maxJitterMs, undefined);
}
