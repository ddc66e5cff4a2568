import { firesOnItsOwn, type JobSpec } from "./job.js";
import { nextFireTimes } from "./schedule.js";

/**
 * The first nominal slot of a job strictly after `after` (epoch ms), honouring start_at and
 * end_at; undefined when the job will not fire again. A one-shot job's slot is its run_at, even
 * when that lies in the past: the misfire policy then decides what happens to it. A job with
 * neither schedule nor run_at has no slot: it runs only when triggered.
 */
export function nextTriggerAt(spec: JobSpec, after: number): number | undefined {
  if (!firesOnItsOwn(spec)) return undefined;
  if (spec.runAt !== undefined) return spec.runAt;
  const from = spec.startAt !== undefined ? Math.max(after, spec.startAt - 1) : after;
  const [next] = nextFireTimes(spec.schedule, spec.timezone, from, 1, spec.endAt);
  return next;
}

/**
 * The slot of the job's schedule after `slot` (within end_at); undefined for a one-shot job or
 * when the schedule ends. What a run's start deadline and jitter are bounded by.
 */
export function slotAfter(spec: JobSpec, slot: number): number | undefined {
  return spec.runAt !== undefined ? undefined : nextFireTimes(spec.schedule, spec.timezone, slot, 1, spec.endAt)[0];
}
