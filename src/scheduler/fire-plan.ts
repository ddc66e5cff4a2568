import { jitterOffset } from "../domain/jitter.js";
import type { JobRecord } from "../domain/job.js";
import { resolveMisfire, type MisfireDecision } from "../domain/misfire.js";
import { slotAfter } from "../domain/next-trigger.js";
import { decideStart, MIN_START_DEADLINE_MS, slotStartDeadline } from "../domain/start-deadline.js";

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
  /**
   * Slots from the job's stored next slot up to `slot` (excluded) that were shed in memory (see
   * {@link shedInMemory}): the job's next store write counts them as skipped. 0 when `slot` is the
   * stored one.
   */
  shedBefore: number;
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
  return { job, slot, dueAt: slot + jitterOffset(job.jobId, slot, spec.maxJitterMs, nextSlot), nextSlot, shedBefore: 0 };
}

/**
 * The loaded job moved to its slot `next` without a store write, its due slots before it shed
 * (`shed` of them): what an overloaded node does with a slot whose run could not start by its
 * deadline, so that shedding costs a cron step, not a write per job and second. The store keeps
 * the job's older next slot until the job next fires a run; a node taking over meanwhile decides
 * those slots again by the misfire policy, and counts the same slots as skipped.
 */
export function shedInMemory(loaded: LoadedJob, next: number, shed: number): LoadedJob {
  const { job } = loaded;
  const nextSlot = slotAfter(job.spec, next);
  return { job, slot: next, dueAt: next + jitterOffset(job.jobId, next, job.spec.maxJitterMs, nextSlot), nextSlot, shedBefore: loaded.shedBefore + shed };
}

/**
 * What staging expects of the run queue: how long a run staged now waits for a worker, and the
 * share of its start deadline that wait may use. While the node is overloaded the share is
 * {@link OVERLOADED_DEADLINE_SHARE}: the estimate does not see everything that delays a start
 * (the event loop busy with the overload itself), and a slot too late for half its deadline is
 * shed in favour of the job's next slot, staged ahead, rather than started near its deadline.
 */
export interface StagingOutlook {
  expectedWaitMs: number;
  deadlineShare: number;
}

/** Half the deadline: runs staged while overloaded keep the other half as margin (see {@link StagingOutlook}). */
export const OVERLOADED_DEADLINE_SHARE = 0.5;

/** An empty queue: no wait, the whole deadline. */
export const IDLE_OUTLOOK: StagingOutlook = { expectedWaitMs: 0, deadlineShare: 1 };

/**
 * When a run of a slot due at `dueAt`, staged at `now`, is expected to start: at its due time, or
 * once the queue ahead of it has drained, whichever comes later (a run staged ahead of its slot
 * waits for the runs queued now only as far as they are not done by then).
 */
function expectedStart(dueAt: number, now: number, outlook: StagingOutlook): number {
  return Math.max(dueAt, now + outlook.expectedWaitMs);
}

/** True when a run of a slot due at `dueAt` staged at `now` surely starts within its share of every possible deadline. */
function surelyInTime(dueAt: number, now: number, outlook: StagingOutlook): boolean {
  return expectedStart(dueAt, now, outlook) - dueAt <= MIN_START_DEADLINE_MS * outlook.deadlineShare;
}

/**
 * True when the loaded job's slot can be staged as it is: on time, its run expected to start
 * within its share of the shortest start deadline (the common case, decided in a few comparisons,
 * with no allocation). Otherwise {@link planFire} decides.
 */
export function plainlyDue(loaded: LoadedJob, now: number, outlook: StagingOutlook): boolean {
  return surelyInTime(loaded.dueAt, now, outlook) && (loaded.nextSlot === undefined || loaded.nextSlot > now);
}

/**
 * What to fire for a loaded job at `now`, its runs expected to wait as `outlook` says for a
 * worker (the node's queue ahead of them). The common case — the slot is due, on time, and its successor
 * is still in the future — is decided without cron maths; anything else (downtime, a paused
 * leader) goes through the misfire policy. Then a slot whose run could not start by its start
 * deadline is not staged: the start decision (domain/start-deadline.ts) is taken now, at the
 * run's expected start, so an overloaded node writes no run it would only skip.
 */
export function planFire(loaded: LoadedJob, now: number, outlook: StagingOutlook = IDLE_OUTLOOK): FirePlan {
  const grace = loaded.job.spec.maxJitterMs + ON_TIME_GRACE_MS;
  const onTime = now - loaded.slot <= grace && (loaded.nextSlot === undefined || loaded.nextSlot > now);
  if (onTime && surelyInTime(loaded.dueAt, now, outlook)) {
    return { fire: [{ slot: loaded.slot, trigger: "schedule" }], skipped: 0, dropped: 0, next: loaded.nextSlot, shed: 0 };
  }
  const decision: MisfireDecision = onTime
    ? { fire: [{ slot: loaded.slot, trigger: "schedule" }], skipped: 0, dropped: 0, next: loaded.nextSlot }
    : resolveMisfire({ spec: loaded.job.spec, nextTriggerAt: loaded.slot, now, graceMs: grace, maxCatchUp: MAX_CATCH_UP });
  return shedOverdue(loaded, decision, now, outlook);
}

/**
 * The decision less the slots whose runs, expected to start once the queue ahead has drained
 * (see {@link expectedStart}), would be past their share of their start deadline and skipped. Fired
 * slots are consecutive slots of the schedule, so each one's successor is the next fired slot,
 * and the last one's is the decision's next.
 */
function shedOverdue(loaded: LoadedJob, decision: MisfireDecision, now: number, outlook: StagingOutlook): FirePlan {
  const { job } = loaded;
  const spec = job.spec;
  const fire = decision.fire.filter((f, i) => {
    const nextSlot = decision.fire[i + 1]?.slot ?? decision.next;
    const dueAt = dueAtOf(loaded, f.slot);
    if (surelyInTime(dueAt, now, outlook)) return true;
    const start = decideStart({
      trigger: f.trigger,
      policy: spec.misfirePolicy,
      scheduledAt: f.slot,
      dueAt,
      at: expectedStart(dueAt, now, outlook),
      deadlineMs: slotStartDeadline(spec, f.slot, nextSlot) * outlook.deadlineShare,
      catchupWindowMs: spec.catchupWindowMs,
      nextSlot,
    });
    return start.action === "start";
  });
  return { ...decision, fire, shed: decision.fire.length - fire.length };
}

/** The due time of one of the job's slots: the loaded one's is known, another's is computed as its run's will be. */
export function dueAtOf(loaded: LoadedJob, slot: number): number {
  return slot === loaded.slot ? loaded.dueAt : slot + jitterOffset(loaded.job.jobId, slot, loaded.job.spec.maxJitterMs, undefined);
}
