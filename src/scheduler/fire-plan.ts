import { jitterOffset } from "../domain/jitter.js";
import type { JobRecord } from "../domain/job.js";
import { resolveMisfire, type MisfireDecision } from "../domain/misfire.js";
import { nextFireTimes } from "../domain/schedule.js";

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

/** Computes due time and successor of a job's next slot (done at load time, not at fire time). */
export function loadJob(job: JobRecord): LoadedJob {
  const slot = job.nextTriggerAt!;
  const spec = job.spec;
  const nextSlot = spec.runAt !== undefined ? undefined : nextFireTimes(spec.schedule, spec.timezone, slot, 1, spec.endAt)[0];
  return { job, slot, dueAt: slot + jitterOffset(job.jobId, slot, spec.maxJitterMs, nextSlot), nextSlot };
}

/**
 * What to fire for a loaded job at `now`. The common case — the slot is due, on time, and its
 * successor is still in the future — is decided without cron maths; anything else (downtime, a
 * paused leader) goes through the misfire policy.
 */
export function planFire(loaded: LoadedJob, now: number): MisfireDecision {
  const grace = loaded.job.spec.maxJitterMs + ON_TIME_GRACE_MS;
  const onTime = now - loaded.slot <= grace && (loaded.nextSlot === undefined || loaded.nextSlot > now);
  if (onTime) return { fire: [{ slot: loaded.slot, trigger: "schedule" }], skipped: 0, dropped: 0, next: loaded.nextSlot };
  return resolveMisfire({ spec: loaded.job.spec, nextTriggerAt: loaded.slot, now, graceMs: grace, maxCatchUp: MAX_CATCH_UP });
}
