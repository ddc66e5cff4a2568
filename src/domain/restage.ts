import type { JobRecord, JobSpec } from "./job.js";
import { jitterOffset } from "./jitter.js";
import { slotAfter } from "./next-trigger.js";
import type { RunRecord } from "./run.js";
import { nextFireTimes } from "./schedule.js";

/** Triggers whose runs stand for a slot of the schedule: a change of the schedule can withdraw them. */
const SLOT_TRIGGERS: ReadonlySet<RunRecord["trigger"]> = new Set(["schedule", "catch_up"]);

/** What becomes of a slot's run whose job changed before the slot was due. */
export type RestageDecision =
  { action: "run"; spec: JobSpec; jobVersion: number; dueAt: number } | { action: "skip"; reason: string } | { action: "cancel"; reason: string };

/** True when `slot` is one of the slots of `spec`: its run_at, or a time of its schedule within its window. */
export function isSlotOf(spec: JobSpec, slot: number): boolean {
  if (spec.runAt !== undefined) return spec.runAt === slot;
  if (!spec.schedule) return false;
  if ((spec.startAt !== undefined && slot < spec.startAt) || (spec.endAt !== undefined && slot > spec.endAt)) return false;
  return nextFireTimes(spec.schedule, spec.timezone, slot - 1, 1)[0] === slot;
}

/**
 * Whether a run must be decided again from its job as it is now: a slot's run (staged ahead of
 * its due time, possibly) whose job changed at or before the run's due time. A change answered
 * after the due time leaves the run to the version it was created with, as does any manual run
 * (a trigger, replay, redrive or backfill names its version on purpose).
 */
export function needsRestage(run: RunRecord, job: JobRecord): boolean {
  return SLOT_TRIGGERS.has(run.trigger) && job.version !== run.jobVersion && job.updatedAt <= run.dueAt;
}

/**
 * Decides a slot's run again from the job's current version (Temporal resolves its policies as
 * late, for the same reason): no slot due after a change was answered runs per an older version.
 * A job that no longer fires (paused, cancelled, completed) cancels the run; a slot that is no
 * longer one of the job's slots (schedule, run_at or window changed) is skipped, since the new
 * version fires its own slots; otherwise the run executes the current version, at the slot's due
 * time under the current jitter.
 */
export function decideRestage(run: RunRecord, job: JobRecord): RestageDecision {
  const version = job.version;
  if (job.status !== "active") return { action: "cancel", reason: `job ${job.status} (version ${version}) before the slot was due` };
  if (!isSlotOf(job.spec, run.scheduledAt)) {
    return { action: "skip", reason: `superseded by job version ${version}: not one of its slots` };
  }
  const spec = job.spec;
  const nextSlot = slotAfter(spec, run.scheduledAt);
  const dueAt = run.scheduledAt + jitterOffset(job.jobId, run.scheduledAt, spec.maxJitterMs, nextSlot);
  return { action: "run", spec, jobVersion: version, dueAt };
}
