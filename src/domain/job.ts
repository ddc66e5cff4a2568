import type { RunStatus } from "./run.js";

/** Lifecycle states of a job. */
export type JobStatus = "active" | "paused" | "completed" | "cancelled";
/** What to do with a slot that is due while a run of the job is still running. */
export type ConcurrencyPolicy = "allow" | "forbid" | "replace";
/** What to do with slots missed while nobody could fire them. */
export type MisfirePolicy = "skip" | "fire_once" | "catch_up";
/** Which failed attempts are retried. */
export type RetryOn = "none" | "on_failure" | "always";

/** Credentials for a target. Secret values are inline strings or `secret://name` references. */
export type AuthSpec =
  | { kind: "basic"; username: string; password: string }
  | { kind: "bearer"; token: string }
  | { kind: "api_key"; key: string; header: string }
  | { kind: "service_token"; token: string; header: string };

/** One HTTP call. */
export interface HttpTargetSpec {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  /** Empty means 200-299. */
  successCodes: number[];
  auth?: AuthSpec;
  /**
   * Follow 3xx answers with a Location (at most 5 hops, each checked by the outbound policy).
   * Absent or false: a 3xx is the attempt's answer.
   */
  followRedirects?: boolean;
  /** Bytes of each response body kept on the attempt; absent: the server's RESPONSE_EXCERPT_BYTES. */
  responseExcerptBytes?: number;
}

/** Bounds on the attempts of one run. */
export interface RetrySpec {
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  multiplier: number;
  retryOn: RetryOn;
}

/** One node of a job's DAG. */
export interface TaskSpec {
  taskId: string;
  name: string;
  dependsOn: string[];
  target?: HttpTargetSpec;
  handler: string;
}

/** Everything a user configures on a job; versioned as a whole. */
export interface JobSpec {
  projectId: string;
  name: string;
  description: string;
  tags: Record<string, string>;
  /** Cron expression; empty for one-shot jobs. */
  schedule: string;
  /** One-shot fire time (epoch ms). */
  runAt?: number;
  timezone: string;
  startAt?: number;
  endAt?: number;
  concurrencyPolicy: ConcurrencyPolicy;
  misfirePolicy: MisfirePolicy;
  catchupWindowMs: number;
  /**
   * How late a slot's run may still start (see domain/start-deadline.ts); absent or 0: the smaller
   * of the interval to the next slot and the catch-up window.
   */
  startDeadlineMs?: number;
  maxJitterMs: number;
  handler: string;
  target?: HttpTargetSpec;
  retry: RetrySpec;
  tasks: TaskSpec[];
  historyLimit: number;
}

/** Counters maintained by the scheduler; never part of a version snapshot. */
export interface JobStats {
  lastTriggeredAt?: number;
  lastRunDurationMs?: number;
  /** Final state of the latest run counted (absent before the first, and for runs counted by older versions). */
  lastRunStatus?: RunStatus;
  runCount: number;
  failCount: number;
  skippedCount: number;
  droppedCount: number;
}

/** A stored job: its spec, its state and its bookkeeping. Times are epoch milliseconds. */
export interface JobRecord {
  jobId: string;
  spec: JobSpec;
  status: JobStatus;
  pauseNote: string;
  /** Incremented by every change of spec or status; compare-and-set key. */
  version: number;
  createdAt: number;
  createdBy: string;
  updatedAt: number;
  updatedBy: string;
  /** Why the current version was written: create, update, pause, resume, rollback, task. */
  changeReason: string;
  /** Next nominal slot; absent when the job will not fire again. */
  nextTriggerAt?: number;
  stats: JobStats;
}

/** An immutable snapshot of a job at one version. */
export interface JobVersionRecord {
  jobId: string;
  version: number;
  spec: JobSpec;
  status: JobStatus;
  createdAt: number;
  createdBy: string;
  reason: string;
}

/** Default number of runs kept per job. */
export const DEFAULT_HISTORY_LIMIT = 100;

/** True for a job with a schedule or a run_at; a job with neither runs only when triggered. */
export function firesOnItsOwn(spec: Pick<JobSpec, "schedule" | "runAt">): boolean {
  return spec.schedule.trim() !== "" || spec.runAt !== undefined;
}

/** Fresh counters for a new job. */
export function emptyStats(): JobStats {
  return { runCount: 0, failCount: 0, skippedCount: 0, droppedCount: 0 };
}

/** The version snapshot describing a job as it currently is. */
export function snapshotOf(job: JobRecord): JobVersionRecord {
  return {
    jobId: job.jobId,
    version: job.version,
    spec: job.spec,
    status: job.status,
    createdAt: job.updatedAt,
    createdBy: job.updatedBy,
    reason: job.changeReason,
  };
}
