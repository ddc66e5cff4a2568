import { CronError } from "./cron-error.js";
import { firesOnItsOwn, type JobSpec, type JobStatus } from "./job.js";
import { nextTriggerAt } from "./next-trigger.js";

/** A job as a change finds it: its state, its spec and its next slot. */
export interface LifecycleInput {
  jobId: string;
  status: JobStatus;
  spec: JobSpec;
  nextTriggerAt?: number;
}

/** The state a change leaves a job in. */
export interface LifecycleOutcome {
  status: JobStatus;
  /** Next slot; undefined whenever the job will not fire (completed, cancelled, nothing left). */
  nextTriggerAt: number | undefined;
}

/** Whether two specs differ in what decides their slots. */
export function timingChanged(a: JobSpec, b: JobSpec): boolean {
  return a.schedule !== b.schedule || a.timezone !== b.timezone || a.runAt !== b.runAt || a.startAt !== b.startAt || a.endAt !== b.endAt;
}

/**
 * The state of a new job: active or paused as asked, completed when no slot is left to fire. A
 * hand-run job (no schedule, no run_at) is active or paused with no slot: it runs when triggered.
 */
export function initialState(spec: JobSpec, enabled: boolean, now: number): LifecycleOutcome {
  const next = nextTriggerAt(spec, now);
  if (next === undefined && firesOnItsOwn(spec)) return { status: "completed", nextTriggerAt: undefined };
  return { status: enabled ? "active" : "paused", nextTriggerAt: next };
}

/**
 * The rule every change of a job follows (update, pause, resume, rollback, task edits), so that
 * no change is answered as done while doing nothing:
 * - A cancelled job never changes again (delete it, or create another).
 * - Cancelling (status `cancelled`) stops the job for good: no next slot.
 * - A completed job comes back to life only through its timing: a new run_at, schedule, time zone
 *   or window that leaves a slot to fire re-activates it (paused when `paused` is asked). Asking
 *   to enable, resume or pause it without such a change fails; other edits are kept and it stays
 *   completed.
 * - An active or paused job takes the status asked. Its next slot is recomputed when its timing
 *   changed or it resumes; when no slot is left it becomes completed (an end_at already past).
 * - A hand-run job (no schedule, no run_at) has no slot and never completes; a completed job
 *   whose timing is removed comes back as a hand-run job.
 * Throws `failed_precondition` naming the job when the change cannot apply.
 */
export function decideLifecycle(current: LifecycleInput, spec: JobSpec, requested: JobStatus | undefined, now: number): LifecycleOutcome {
  const { jobId } = current;
  if (current.status === "cancelled") {
    throw new CronError("failed_precondition", `job ${jobId} is cancelled and never changes again; delete it or create a new job`);
  }
  if (requested === "cancelled") return { status: "cancelled", nextTriggerAt: undefined };
  const retimed = timingChanged(current.spec, spec);
  if (current.status === "completed") return revived(jobId, spec, retimed, requested, now);
  const status = requested ?? current.status;
  if (!retimed && !(status === "active" && current.status === "paused")) return { status, nextTriggerAt: current.nextTriggerAt };
  const next = nextTriggerAt(spec, now);
  return next === undefined && firesOnItsOwn(spec) ? { status: "completed", nextTriggerAt: undefined } : { status, nextTriggerAt: next };
}

/** A completed job after a change: re-activated by new timing with a slot left, else completed still. */
function revived(jobId: string, spec: JobSpec, retimed: boolean, requested: JobStatus | undefined, now: number): LifecycleOutcome {
  const next = retimed ? nextTriggerAt(spec, now) : undefined;
  if (next !== undefined || (retimed && !firesOnItsOwn(spec))) return { status: requested === "paused" ? "paused" : "active", nextTriggerAt: next };
  if (requested === "active" || requested === "paused") {
    const why = retimed ? "its new timing leaves no slot to fire" : "give it a new run_at or schedule to run it again";
    throw new CronError("failed_precondition", `job ${jobId} is completed: ${why}`);
  }
  return { status: "completed", nextTriggerAt: undefined };
}
