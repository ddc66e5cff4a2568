import { CronError } from "../domain/cron-error.js";
import type { JobStatus } from "../domain/job.js";

/** What an update names about a job's state: `status`, `enabled`, both or neither. */
export interface AskedStatus {
  status?: JobStatus;
  enabled?: boolean;
}

/**
 * The status an update asks for, given the current one; undefined leaves the status alone.
 * `status` and `enabled` say the same thing twice (a read-modify-write sends both back), so each
 * is compared with the current job and only a change counts: the one that changed wins, and when
 * both changed they must agree (`enabled` is true exactly when `status` is active), else the
 * update is refused naming `enabled`. Callers never set `completed`. Whether a completed or
 * cancelled job may take the status asked for is the use case's decision, not this one's.
 */
export function statusAfter(current: JobStatus, asked: AskedStatus): JobStatus | undefined {
  const status = asked.status !== undefined && asked.status !== current ? asked.status : undefined;
  const enabled = asked.enabled !== undefined && asked.enabled !== (current === "active") ? asked.enabled : undefined;
  if (status === "completed") throw CronError.invalid("status", "completed is set by the scheduler, not by callers");
  if (status !== undefined && enabled !== undefined && enabled !== (status === "active")) {
    throw CronError.invalid("enabled", `enabled: ${enabled} contradicts status: ${status}; change only one of them`);
  }
  if (status !== undefined) return status;
  if (enabled !== undefined) return enabled ? "active" : "paused";
  return undefined;
}
