import { CronError } from "../domain/cron-error.js";
import { applyTaskEdit, taskEditReason, type TaskEdit } from "../domain/task-edits.js";
import { emptyStats, snapshotOf, type JobRecord, type JobSpec, type JobStatus, type JobVersionRecord, type TaskSpec } from "../domain/job.js";
import { isFinal, type RunRecord } from "../domain/run.js";
import { checkScheduleInterval, DEFAULT_JOB_LIMITS, ID_PATTERN, normalizeSpec, normalizeTasks } from "../domain/job-validation.js";
import { decideLifecycle, initialState, timingChanged } from "../domain/lifecycle.js";
import { createOutboundPolicy } from "../domain/outbound-policy.js";
import { topologicalOrder } from "../domain/dag.js";
import { DELETED_VERSION } from "../scheduler/cluster-events.js";
import { purgeJobRuns } from "../scheduler/deleted-job-runs.js";
import type { CancelMode } from "../scheduler/run-canceller.js";
import { ALL_PROJECTS, projectOfNewJob, projectOfQuery } from "../domain/project.js";
import type { CursorQuery, JobFilter, OffsetQuery, Scope } from "../store/store.js";
import type { AppDeps } from "./deps.js";
import { waitFinal } from "./run-waits.js";

/** Most active runs of one job a delete or a pause asks to stop one by one. */
const MAX_STOPPED = 10_000;
/**
 * How long DeleteJob waits for the runs it cancelled to record their final state (with every
 * attempt they sent), so the deletion is answered once nothing of the job is still running.
 */
const DELETE_WAIT_MS = 5000;

/** Options of {@link JobCommands.remove}. */
export interface RemoveOptions {
  /** Delete the job's finished runs and dead letters now, not after the retention of deleted jobs' runs. */
  purgeRuns?: boolean;
}

/** What a deletion did. */
export interface Removed {
  /** Runs cancelled by the deletion. */
  cancelled: number;
  /** Finished runs deleted with it (purgeRuns). */
  purged: number;
}

/**
 * Who asks: the user, for the audit trail, and the project the call is confined to
 * (`ALL_PROJECTS`: every project). Another project's jobs and runs are invisible to the call:
 * they answer NotFound, as if they did not exist.
 */
export interface Actor {
  id: string;
  project: string;
}

/**
 * A job listing's filter within the actor's project; `owner: "me"` (seed 001's user scope) is
 * the actor itself.
 */
function scopedFilter(filter: JobFilter, actor: Actor): JobFilter {
  return { ...filter, projectId: projectOfQuery(actor.project, filter.projectId), owner: filter.owner === "me" ? actor.id : filter.owner };
}

/** The store scope of an actor: its project, or every project. */
export function scopeOf(actor: Actor): Scope {
  return actor.project === ALL_PROJECTS ? undefined : actor.project;
}

/** Options of {@link JobCommands.create}. */
export interface CreateOptions {
  /** Caller-chosen id; generated when empty. */
  jobId?: string;
  /** Defaults to true. */
  enabled?: boolean;
}

/** A change to apply to the current job: the new spec and, optionally, a new status. */
export type JobChange = (current: JobRecord) => { spec: JobSpec; status?: JobStatus; pauseNote?: string };

/** Job use cases: everything that writes or reads job definitions. */
export type JobCommands = ReturnType<typeof createJobCommands>;

/** Creates the job use cases over the store. */
export function createJobCommands(deps: AppDeps) {
  const { store, clock } = deps;
  const outbound = deps.outbound ?? createOutboundPolicy();
  const limits = deps.limits ?? DEFAULT_JOB_LIMITS;

  /**
   * Refuses a job beyond MAX_JOBS_PER_PROJECT. FailedPrecondition, not ResourceExhausted: the
   * caller must delete jobs first, and retrying later (what 429 asks of clients) cannot help.
   * Concurrent creates may each see room: the cap can be passed by as many as race it. A count
   * alone, not a page of jobs and their states.
   */
  const checkCapacity = async (projectId: string) => {
    const total = await store.countJobs(projectId);
    if (total >= limits.maxJobsPerProject) {
      throw new CronError(
        "failed_precondition",
        `project ${projectId} already has ${total} jobs, the most allowed (MAX_JOBS_PER_PROJECT=${limits.maxJobsPerProject})`,
      );
    }
  };

  /** The job, within the actor's project (NotFound otherwise). */
  const get = async (jobId: string, actor: Actor): Promise<JobRecord> => {
    const job = await store.getJob(jobId, scopeOf(actor));
    if (!job) throw CronError.notFound("job", jobId);
    return job;
  };

  /**
   * Applies a change under the job's lifecycle rule (see decideLifecycle): the version check, the
   * status and next slot the change leaves, the write, and the announcement — which makes every
   * replica decide the job's slots staged ahead again from this version (see decideRestage).
   * Leaving `active` (a pause, a cancel, nothing left to fire) stops the job's runs from starting
   * any new attempt.
   */
  const change = async (jobId: string, fn: JobChange, expectedVersion: number, actor: Actor, reason: string) => {
    const current = await get(jobId, actor);
    if (expectedVersion !== 0 && expectedVersion !== current.version) {
      throw new CronError("version_conflict", `job ${jobId} is at version ${current.version}, not ${expectedVersion}`);
    }
    const { spec: raw, status: requested, pauseNote = current.pauseNote } = fn(current);
    if (raw.projectId && raw.projectId !== current.spec.projectId) {
      throw CronError.invalid("project_id", `a job stays in its project (${current.spec.projectId}): create a job in the other project instead`);
    }
    const spec = normalizeSpec({ ...raw, projectId: current.spec.projectId }, outbound);
    // Only a new schedule is held to the minimum interval: pausing an older job must still work.
    if (timingChanged(current.spec, spec)) checkScheduleInterval(spec, limits.minScheduleIntervalMs);
    const now = clock.now();
    const { status, nextTriggerAt: next } = decideLifecycle(current, spec, requested, now);
    const saved = await store.updateJob(
      { ...current, spec, status, pauseNote, version: current.version + 1, updatedAt: now, updatedBy: actor.id, changeReason: reason, nextTriggerAt: next },
      current.version,
    );
    deps.jobChanged(jobId, saved.version);
    if (current.status === "active" && saved.status !== "active") await stopRuns(jobId, `job ${saved.status}`, "drain");
    return saved;
  };

  /** The job's runs not final yet (at most {@link MAX_STOPPED}), read in full. */
  const activeRuns = async (jobId: string): Promise<RunRecord[]> => {
    const refs = await store.listActiveRuns({ jobIds: [jobId], limit: MAX_STOPPED });
    const runs = await Promise.all(refs.map((r) => store.getRun(r.runId)));
    return runs.filter((run): run is RunRecord => run !== undefined && !isFinal(run.status));
  };

  /**
   * Stops every run of the job that is not final, wherever it is: `abort` ends runs at once (a
   * request in flight is aborted, and recorded as an attempt); `drain` lets runs start no new
   * attempt — those not started yet (staged, queued, waiting to retry) end cancelled, a request
   * in flight finishes. Returns the runs asked to stop.
   */
  const stopRuns = async (jobId: string, reason: string, mode: CancelMode): Promise<RunRecord[]> => {
    const runs = await activeRuns(jobId);
    await Promise.all(runs.map((run) => deps.canceller.cancel(run, reason, mode)));
    return runs;
  };

  return {
    get,
    change,

    /** Validates and stores a new job at version 1 with its first slot computed (completed when none is left). */
    async create(raw: JobSpec, options: CreateOptions, actor: Actor): Promise<JobRecord> {
      const spec = normalizeSpec({ ...raw, projectId: projectOfNewJob(actor.project, raw.projectId) }, outbound);
      checkScheduleInterval(spec, limits.minScheduleIntervalMs);
      if (options.jobId && !ID_PATTERN.test(options.jobId)) throw CronError.invalid("job_id", "must match " + ID_PATTERN);
      await checkCapacity(spec.projectId);
      const now = clock.now();
      const { status, nextTriggerAt: next } = initialState(spec, options.enabled !== false, now);
      const job: JobRecord = {
        jobId: options.jobId || deps.ids("job"),
        spec,
        status,
        pauseNote: "",
        version: 1,
        createdAt: now,
        createdBy: actor.id,
        updatedAt: now,
        updatedBy: actor.id,
        changeReason: "create",
        nextTriggerAt: next,
        stats: emptyStats(),
      };
      await store.createJob(job);
      deps.jobChanged(job.jobId, job.version);
      return job;
    },

    /**
     * Deletes a job. First every run of it that is not final — queued, staged, running or waiting
     * to retry, on any replica — is cancelled, its request in flight aborted, and its final state
     * (with every attempt it sent) awaited for a bounded time; a run of a deleted job never enters
     * the dead-letter queue. The deletion is recorded: the job's runs are deleted after the
     * retention of deleted jobs' runs, or now (those finished) with `purgeRuns`.
     */
    async remove(jobId: string, actor: Actor, options: RemoveOptions = {}): Promise<Removed> {
      await get(jobId, actor);
      const stopped = await stopRuns(jobId, "job deleted", "abort");
      const finals = await waitFinal(
        deps,
        stopped.map((r) => r.runId),
        DELETE_WAIT_MS,
      );
      const deletedAt = clock.now();
      if (!(await store.deleteJob(jobId, scopeOf(actor), deletedAt))) throw CronError.notFound("job", jobId);
      deps.jobChanged(jobId, DELETED_VERSION);
      const cancelled = finals.filter((r) => r.status === "cancelled").length;
      return { cancelled, purged: options.purgeRuns ? await purgeJobRuns(store, jobId, deletedAt + 1) : 0 };
    },

    /**
     * Pauses (enabled=false) or resumes (enabled=true) a job, with a note. A paused job fires no
     * slot and its runs start no new attempt (see {@link change}).
     */
    async setEnabled(jobId: string, enabled: boolean, note: string, actor: Actor): Promise<JobRecord> {
      const job = await get(jobId, actor);
      const status: JobStatus = enabled ? "active" : "paused";
      if (job.status === status && note === job.pauseNote) return job;
      return change(jobId, (c) => ({ spec: c.spec, status, pauseNote: note }), job.version, actor, enabled ? "resume" : "pause");
    },

    /**
     * Writes a new version whose spec is that of `version`, and its paused or active state when
     * the job is paused or active now; history is never rewritten.
     */
    async rollback(jobId: string, version: number, actor: Actor): Promise<JobRecord> {
      const snapshot = await getVersion(jobId, version, actor);
      return change(jobId, (c) => ({ spec: snapshot.spec, status: restoredStatus(c.status, snapshot.status) }), 0, actor, `rollback to v${version}`);
    },

    /** Version snapshots, newest first. */
    listVersions: (jobId: string, pageSize: number, before: number | undefined, actor: Actor) => listVersions(jobId, pageSize, before, actor),
    getVersion,

    /** Jobs of the actor's project (every project for an actor of all) in job-id order after the cursor. */
    list: (filter: JobFilter, query: CursorQuery, actor: Actor) => store.listJobs(scopedFilter(filter, actor), query),

    /** Jobs of the actor's project for one offset page, with the total. */
    listByPage: (filter: JobFilter, query: OffsetQuery, actor: Actor) => store.listJobsByPage(scopedFilter(filter, actor), query),

    /** Adds, replaces or removes a DAG task; the result must still be a DAG. */
    /** Adds, replaces or deletes one DAG task (see domain/task-edits.ts), as a new version of the job. */
    async editTask(jobId: string, edit: TaskEdit, actor: Actor): Promise<JobRecord> {
      return change(
        jobId,
        (c) => ({ spec: { ...c.spec, tasks: normalizeTasks(applyTaskEdit(c.spec.tasks, edit), outbound) } }),
        0,
        actor,
        taskEditReason(edit),
      );
    },

    /** The job's tasks in dependency order. */
    async listTasks(jobId: string, actor: Actor): Promise<TaskSpec[]> {
      return topologicalOrder((await get(jobId, actor)).spec.tasks);
    },
  };

  async function listVersions(jobId: string, pageSize: number, before: number | undefined, actor: Actor): Promise<JobVersionRecord[]> {
    const job = await get(jobId, actor);
    const versions = await store.listJobVersions(jobId, pageSize, before, scopeOf(actor));
    // A crash between the job write and its snapshot leaves the newest snapshot missing; the job
    // itself is that snapshot, so history never shows a gap.
    const newest = versions[0]?.version ?? 0;
    if (newest < job.version && (before === undefined || job.version < before)) {
      return [snapshotOf(job), ...versions].slice(0, pageSize);
    }
    return versions;
  }

  async function getVersion(jobId: string, version: number, actor: Actor): Promise<JobVersionRecord> {
    const found = await store.getJobVersion(jobId, version, scopeOf(actor));
    if (found) return found;
    const job = await get(jobId, actor);
    if (job.version === version) return snapshotOf(job);
    throw CronError.notFound("version", `${jobId}@${version}`);
  }
}

/** The status a rollback restores: the snapshot's paused or active state, when the job is paused or active now. */
function restoredStatus(current: JobStatus, snapshot: JobStatus): JobStatus | undefined {
  const live = (s: JobStatus) => s === "active" || s === "paused";
  return live(current) && live(snapshot) ? snapshot : undefined;
}
