/** What created a run. */
export type RunTrigger = "schedule" | "manual" | "replay" | "redrive" | "backfill" | "catch_up";
/**
 * State of a run, or of one DAG task inside it. `dead_lettered` is a legacy final state: runs
 * stored by earlier versions read as `failed` with `deadLetteredAt` set (see {@link upgradeRun}).
 */
export type RunStatus = "queued" | "running" | "succeeded" | "failed" | "skipped" | "cancelled" | "dead_lettered";

/** Statuses after which a run never changes again (except a redrive creating a new run). */
export const FINAL_RUN_STATUSES: readonly RunStatus[] = ["succeeded", "failed", "skipped", "cancelled", "dead_lettered"];

/** One HTTP call made by a run. */
export interface AttemptRecord {
  number: number;
  startedAt: number;
  finishedAt?: number;
  statusCode: number;
  /** Empty for a successful attempt, and only then. */
  error: string;
  responseExcerpt: string;
  durationMs: number;
  /**
   * Set on an attempt cut short by its node shutting down (the run then executes again): it does
   * not count against `max_attempts`.
   */
  interrupted?: true;
}

/** The error of an attempt cut short by its node shutting down. */
export const ATTEMPT_INTERRUPTED = "interrupted by the node shutting down; the run is sent again (not counted against max_attempts)";

/** Outcome of one DAG task. */
export interface TaskResultRecord {
  taskId: string;
  status: RunStatus;
  attempts: AttemptRecord[];
  startedAt?: number;
  finishedAt?: number;
  error: string;
}

/** A stored run. Times are epoch milliseconds. */
export interface RunRecord {
  runId: string;
  jobId: string;
  /** The job's name when the run was created (absent on runs stored by earlier versions). */
  jobName?: string;
  jobVersion: number;
  projectId: string;
  /**
   * Uniqueness key within the job. For slot-driven triggers (schedule, catch_up) it is the nominal
   * slot, so a slot can create one run only; manual kinds get a key of their own.
   */
  slotKey: string;
  scheduledAt: number;
  dueAt: number;
  trigger: RunTrigger;
  status: RunStatus;
  attempts: AttemptRecord[];
  startedAt?: number;
  finishedAt?: number;
  durationMs?: number;
  result: string;
  error: string;
  nodeId: string;
  /** The run's trace id (32 hex digits), "" when the run was created with tracing off. */
  traceId: string;
  /**
   * W3C `traceparent` of the span the run continues: the fire of its slot, or the RPC that
   * created it. Stored so that whichever replica executes the run continues the same trace.
   */
  traceParent?: string;
  replayOf: string;
  redriveOf: string;
  taskResults: TaskResultRecord[];
  createdAt: number;
  updatedAt: number;
  /** Incremented by every update; compare-and-set key. */
  revision: number;
  /**
   * When the run entered the dead-letter queue: set with its `failed` final state (every failed
   * run does, except runs of deleted jobs, which end cancelled). Membership ends with a redrive or
   * with the dead-letter retention.
   */
  deadLetteredAt?: number;
  /** When a redrive took the run out of the dead-letter queue, and the run it created. */
  redrivenAt?: number;
  redrivenByRunId?: string;
}

/** True while the run waits in the dead-letter queue: dead-lettered and not redriven. */
export function inDeadLetterQueue(run: Pick<RunRecord, "deadLetteredAt" | "redrivenAt">): boolean {
  return run.deadLetteredAt !== undefined && run.redrivenAt === undefined;
}

/**
 * A stored run in today's terms: the legacy final state `dead_lettered` reads as `failed` with
 * `deadLetteredAt` (its finish time). Other runs are returned as they are.
 */
export function upgradeRun(run: RunRecord): RunRecord {
  if (run.status !== "dead_lettered") return run;
  return { ...run, status: "failed", deadLetteredAt: run.deadLetteredAt ?? run.finishedAt ?? run.updatedAt };
}

/**
 * The final attempt of a run: its last attempt, or for a DAG run (whose attempts are per task)
 * the attempt of any task that started last; undefined before the first.
 */
export function finalAttempt(run: Pick<RunRecord, "attempts" | "taskResults">): AttemptRecord | undefined {
  const all = run.attempts.length > 0 ? run.attempts : run.taskResults.flatMap((t) => t.attempts);
  return all.reduce<AttemptRecord | undefined>((last, a) => (!last || a.startedAt >= last.startedAt ? a : last), undefined);
}

/**
 * Attempts after the first of each request (the run's, or each DAG task's, summed); attempts cut
 * short by a node shutting down are not counted, as they do not count against max_attempts.
 */
export function retryCount(run: Pick<RunRecord, "attempts" | "taskResults">): number {
  const retries = (attempts: AttemptRecord[]) => Math.max(0, attempts.filter((a) => !a.interrupted).length - 1);
  return retries(run.attempts) + run.taskResults.reduce((sum, t) => sum + retries(t.attempts), 0);
}

/** True when a run can no longer change. */
export function isFinal(status: RunStatus): boolean {
  return FINAL_RUN_STATUSES.includes(status);
}

/** The slot key of a slot-driven run: the nominal time as an ISO string, sortable and unique. */
export function slotKeyFor(scheduledAt: number): string {
  return new Date(scheduledAt).toISOString();
}

/** The result of a run skipped because a run of its job was still active under `forbid`. */
export const SKIPPED_BY_FORBID = "skipped: a run of the job is still running (forbid)";

/** What makes one new run; everything else starts empty. Times are epoch ms. */
export interface NewRunInput {
  runId: string;
  job: { jobId: string; version: number; spec: { name: string; projectId: string } };
  /** The version the run executes (default: the job's current one). */
  jobVersion?: number;
  slotKey: string;
  scheduledAt: number;
  dueAt: number;
  trigger: RunTrigger;
  /** The node creating it. */
  nodeId: string;
  now: number;
  replayOf?: string;
  redriveOf?: string;
  /** Task results carried over (a DAG redrive keeps the tasks that succeeded). */
  taskResults?: TaskResultRecord[];
}

/** A new run, queued: the one shape of every run created, by a slot or by hand. */
export function newRun(input: NewRunInput): RunRecord {
  const { job, now } = input;
  return {
    runId: input.runId,
    jobId: job.jobId,
    jobName: job.spec.name,
    jobVersion: input.jobVersion ?? job.version,
    projectId: job.spec.projectId,
    slotKey: input.slotKey,
    scheduledAt: input.scheduledAt,
    dueAt: input.dueAt,
    trigger: input.trigger,
    status: "queued",
    attempts: [],
    result: "",
    error: "",
    nodeId: input.nodeId,
    traceId: "",
    replayOf: input.replayOf ?? "",
    redriveOf: input.redriveOf ?? "",
    taskResults: input.taskResults ?? [],
    createdAt: now,
    updatedAt: now,
    revision: 1,
  };
}

/** `run` recorded as skipped at `now` instead of queued: a run of its job is still active (forbid). */
export function skippedRun(run: RunRecord, now: number): RunRecord {
  return { ...run, status: "skipped", finishedAt: now, result: SKIPPED_BY_FORBID };
}
