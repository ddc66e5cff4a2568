import type { JobRecord, JobStatus, JobVersionRecord } from "../domain/job.js";
import type { RunRecord, RunStatus } from "../domain/run.js";
import type { RunPaging, RunSelection } from "../domain/run-listing.js";

/**
 * The project a call is confined to: reads and writes of another project's records find nothing,
 * in the query itself. Undefined: every project (an admin of all projects, or the scheduler).
 */
export type Scope = string | undefined;

/** Filters shared by both ways of listing jobs. */
export interface JobFilter {
  projectId?: string;
  /** Only jobs created by this user (`created_by`). */
  owner?: string;
  status?: JobStatus;
  /** `key=value` matches that tag value; a bare `key` matches any job carrying the tag. */
  tag?: string;
  /** Case-insensitive substring of name or description. */
  text?: string;
}

/** A cursor page: items in job-id order after `after`. */
export interface CursorQuery {
  pageSize: number;
  /** Exclusive lower bound (a job id) returned as `nextCursor` by the previous page. */
  after?: string;
}

/** An offset page. `page` is 1-based; `offset`, when given, says where the page starts instead. */
export interface OffsetQuery {
  page: number;
  limit: number;
  offset?: number;
}

/** One page of results; `nextCursor` is absent on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor?: string;
  /** Every item matching the filters, on all pages: set when the query asked for it (`withTotal`). */
  total?: number;
}

/**
 * Filters and one page of a run listing (see {@link RunSelection} and {@link RunPaging}). Runs
 * come in run-id order, which is creation order: newest first, or oldest first on request.
 */
export interface RunQuery extends RunSelection, RunPaging {
  /** Count every run matching the filters (bounds and offset aside) into `Page.total`. */
  withTotal?: boolean;
}

/** Filters and one page of the dead-letter queue, in run-id order as {@link RunQuery} says. */
export interface DeadLetterQuery extends Omit<RunQuery, "status"> {
  /** Also list entries a redrive took out of the queue (default: only those still waiting). */
  includeRedriven?: boolean;
}

/** Result of an idempotent run insert. */
export interface InsertRunResult {
  /** The stored run: the new one, or the one that already held the slot (see {@link InsertOptions.adopt}). */
  run: RunRecord;
  /** False when the slot key was already taken and the existing run was adopted. */
  inserted: boolean;
}

/** How {@link Store.insertRuns} treats slots already taken. */
export interface InsertOptions {
  /**
   * Read back the runs that already hold refused slots (default true). The fire loop passes
   * false: after a failover it re-fires slots its predecessor already stored, and needs to know
   * only that they exist (reading them back costs a scan on some servers). Refused runs then come
   * back as given, with `inserted: false`.
   */
  adopt?: boolean;
}

/** The scheduler bookkeeping written when a job's slot fires. */
export interface JobAdvance {
  jobId: string;
  /** The next_trigger_at value the caller read; the write happens only if it still holds. */
  expectedNextTriggerAt: number | undefined;
  nextTriggerAt: number | undefined;
  lastTriggeredAt?: number;
  /** Added to the job's skipped and dropped counters. */
  skipped?: number;
  dropped?: number;
  /** When set, the job's status becomes this (a one-shot job completing). */
  status?: JobStatus;
}

/** One compare-and-set of a run: the new record and the revision it replaces. */
export interface RunUpdate {
  run: RunRecord;
  expectedRevision: number;
}

/** Counter changes applied when a run finishes. */
export interface RunOutcome {
  jobId: string;
  durationMs: number;
  failed: boolean;
  /** The run's final state: the job's `lastRunStatus` once this outcome is its latest. */
  status?: RunStatus;
  /**
   * A run shed without executing (its start deadline passed): it adds to the job's skipped
   * counter only, not to its runs, failures or last duration.
   */
  skipped?: boolean;
}

/** A deleted job whose runs are still kept (see {@link Store.listDeletedJobs}). */
export interface DeletedJob {
  jobId: string;
  deletedAt: number;
}

/** A run not final yet, as listed by {@link Store.listActiveRuns}: read the run itself with `getRun`. */
export interface ActiveRun {
  runId: string;
  jobId: string;
  /** `queued`, or `running` once the run's progress was stored. */
  status: RunStatus;
}

/** Which non-final runs to list. */
export interface ActiveRunQuery {
  /** Only runs of these jobs; all jobs when absent. */
  jobIds?: string[];
  limit: number;
}

/** A due job as the fire loop compares it with what it holds: identity, version and next slot. */
export interface DueJobRef {
  jobId: string;
  version: number;
  nextTriggerAt: number;
}

/** How many runs of one job history keeps. */
export interface HistoryLimit {
  jobId: string;
  keep: number;
}

/**
 * The persistence port of cronmesh. No driver, connection or query type crosses it: adapters take
 * and return domain records and throw only {@link CronError} (`not_found`, `already_exists`,
 * `version_conflict`, `unavailable`, `internal`). No method needs a multi-document transaction:
 * every write is idempotent or a compare-and-set on one record, so adapters run on stores without
 * transactions (FerretDB) as well as on MongoDB and SQLite.
 */
export interface Store {
  /** Creates tables, collections and indexes. Idempotent; call once at start-up. */
  init(): Promise<void>;
  /** Releases connections. */
  close(): Promise<void>;
  /**
   * Resolves when the store answers a trivial request (no collection or table is scanned), within
   * a couple of seconds; rejects with `unavailable` otherwise. Readiness probes call it often.
   */
  ping(): Promise<void>;

  /** Inserts a new job (version 1) and its first version snapshot. `already_exists` if the id is taken. */
  createJob(job: JobRecord): Promise<void>;
  /** The job, or undefined (also when it belongs to a project other than `scope`'s). */
  getJob(jobId: string, scope?: Scope): Promise<JobRecord | undefined>;
  /**
   * Replaces the job's spec, status and next_trigger_at if its stored version equals
   * `expectedVersion`, and appends the snapshot of the new version. `job.version` must be
   * `expectedVersion + 1`, and its project the stored one's (a job never moves to another project:
   * the write matches the stored project in the query). Counters (stats) are left as stored.
   * Throws `not_found` or `version_conflict`. Crash-safe without transactions: a snapshot missing after a crash is
   * written again by the next update or read of the history.
   */
  updateJob(job: JobRecord, expectedVersion: number): Promise<JobRecord>;
  /**
   * Deletes the job and its version history, so a job re-created under the same id starts a
   * history of its own; its runs stay until trimmed or purged. With `deletedAt`, the deletion is
   * recorded (see {@link Store.listDeletedJobs}), so that its runs can be purged later; a job
   * deleted again keeps its latest deletion time. False if it did not exist.
   */
  deleteJob(jobId: string, scope?: Scope, deletedAt?: number): Promise<boolean>;
  /** Recorded deletions older than `before`, oldest first, at most `limit`. */
  listDeletedJobs(before: number, limit: number): Promise<DeletedJob[]>;
  /** Forgets a recorded deletion, if its time is still `deletedAt` (the job was not deleted again since). */
  forgetDeletedJob(jobId: string, deletedAt: number): Promise<void>;
  /** Jobs in job-id order after the cursor. */
  listJobs(filter: JobFilter, query: CursorQuery): Promise<Page<JobRecord>>;
  /** Jobs in job-id order for one offset page, with the total matching the filter. */
  listJobsByPage(filter: JobFilter, query: OffsetQuery): Promise<{ items: JobRecord[]; total: number }>;
  /** Number of jobs, all states (of `scope`'s project only when given). */
  countJobs(scope?: Scope): Promise<number>;

  /** Version snapshots of a job, newest first, before the `before` version when given. */
  listJobVersions(jobId: string, pageSize: number, before?: number, scope?: Scope): Promise<JobVersionRecord[]>;
  /** One version snapshot, or undefined. */
  getJobVersion(jobId: string, version: number, scope?: Scope): Promise<JobVersionRecord | undefined>;

  /** Active jobs whose next_trigger_at is at or before `before`, earliest first, at most `limit`. */
  listDueJobs(before: number, limit: number, scope?: Scope): Promise<JobRecord[]>;
  /**
   * The same jobs as {@link Store.listDueJobs}, as references only: cheap enough for the fire loop
   * to re-read every resync and fetch in full just the jobs that changed.
   */
  listDueJobRefs(before: number, limit: number): Promise<DueJobRef[]>;
  /** The jobs with these ids that exist, in any order. */
  getJobs(jobIds: string[]): Promise<JobRecord[]>;
  /**
   * Compare-and-set of a job's scheduler bookkeeping on next_trigger_at, for many jobs at once.
   * Returns, per input, whether the expected value still held and the write happened.
   */
  advanceJobs(advances: JobAdvance[]): Promise<boolean[]>;
  /**
   * Applies finished runs to their jobs' counters (run_count, fail_count, last_run_duration_ms,
   * last_run_status: the latest outcome's), many at once, in the order given; outcomes of deleted
   * jobs are ignored. Callers should coalesce: one call per flush interval, not one per run.
   */
  recordRunOutcomes(outcomes: RunOutcome[]): Promise<void>;

  /** Inserts runs, idempotent on (job_id, slot_key): an existing run for the key is adopted. */
  insertRuns(runs: RunRecord[], options?: InsertOptions): Promise<InsertRunResult[]>;
  /** The run, or undefined (also when it belongs to a project other than `scope`'s). */
  getRun(runId: string, scope?: Scope): Promise<RunRecord | undefined>;
  /**
   * Replaces the run if its stored revision equals `expectedRevision`; `run.revision` must be
   * `expectedRevision + 1`. Final states are first-writer-wins instead: a final state is stored
   * if the run is not final yet, whatever revision it expected (its writer executed the run, or
   * cancelled it, and whichever finished first is the truth), and a final run never changes
   * again: updating it is a `version_conflict`. Throws `not_found` or `version_conflict`.
   */
  updateRun(run: RunRecord, expectedRevision: number): Promise<RunRecord>;
  /**
   * Many {@link updateRun}s at once (one transaction or one batched write where the store allows).
   * Per item, whether it applied: a stale revision, a run already final or a missing run yields
   * false, never an error.
   */
  updateRuns(updates: RunUpdate[]): Promise<boolean[]>;
  /** Runs matching the query, in the order it asks (newest first by default). */
  listRuns(query: RunQuery): Promise<Page<RunRecord>>;
  /** Runs in the dead-letter queue (failed, `deadLetteredAt` set), in the order the query asks. */
  listDeadLetters(query: DeadLetterQuery): Promise<Page<RunRecord>>;
  /** Number of runs in a status across all jobs. */
  countRuns(status: RunStatus, scope?: Scope): Promise<number>;
  /** Number of runs waiting in the dead-letter queue (dead-lettered, not redriven). */
  countDeadLetters(): Promise<number>;
  /**
   * Takes a run out of the dead-letter queue: records when and by which run it was redriven, if it
   * is in the queue and not redriven yet. Returns whether this call marked it (false: it was not
   * in the queue, or another redrive marked it first).
   */
  markRedriven(runId: string, redriveRunId: string, at: number): Promise<boolean>;
  /**
   * Deletes dead-letter queue entries (not redriven) that entered the queue before `before`, at
   * most `limit` of them; returns how many. The queue's own retention, independent of history limits.
   */
  expireDeadLetters(before: number, limit: number): Promise<number>;
  /**
   * Runs not in a final state (queued or running), oldest first, at most `limit`: references only,
   * cheap to list however often (the scheduler does so to find work and to apply overlap policies).
   */
  listActiveRuns(query: ActiveRunQuery): Promise<ActiveRun[]>;
  /**
   * Deletes finished runs of the job created before `createdBefore` (dead letters included), at
   * most `limit`, oldest first; runs not final are left. Returns how many were deleted.
   */
  purgeRuns(jobId: string, createdBefore: number, limit: number): Promise<number>;
  /**
   * The jobs among `jobIds` with a run not final (queued or running), in one indexed read: what
   * a job's `lock_acquired` reports, cheap enough for every GetJob and every listed page.
   */
  busyJobs(jobIds: string[]): Promise<Set<string>>;
  /** Marks every queued run of the job cancelled; returns how many. */
  cancelQueuedRuns(jobId: string, now: number): Promise<number>;
  /**
   * Deletes, per job, the oldest finished runs beyond `keep` (runs of every status count towards
   * the limit; queued and running runs are never deleted). Runs waiting in the dead-letter queue
   * neither count nor are deleted: the queue keeps them until a redrive or its retention. One call
   * serves many jobs, so callers trim in periodic batches. Returns how many runs were deleted.
   */
  trimRuns(limits: HistoryLimit[]): Promise<number>;
  /**
   * Completes run inserts that a crash interrupted (runs created at or after `since`), so that
   * every stored run can be found as active or final again. Stores whose inserts are atomic
   * return 0. Returns how many runs were repaired.
   */
  repairRuns(since: number): Promise<number>;
}
