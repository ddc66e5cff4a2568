import { CronError } from "../domain/cron-error.js";
import { emptyStats, snapshotOf, type JobRecord, type JobSpec, type JobStatus, type JobVersionRecord, type TaskSpec } from "../domain/job.js";
import type { RunRecord } from "../domain/run.js";
import { checkScheduleInterval, DEFAULT_JOB_LIMITS, ID_PATTERN, normalizeSpec, normalizeTasks } from "../domain/job-validation.js";
import { nextTriggerAt } from "../domain/next-trigger.js";
import { topologicalOrder } from "../domain/dag.js";
import type { AppDeps } from "./deps.js";

/** Most queued runs of a deleted job asked to stop one by one (the store cancels them all regardless). */
const MAX_CANCELLED_ON_DELETE = 10_000;

/** Who asks, for the audit trail. */
export interface Actor {
  id: string;
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
  const limits = deps.limits ?? DEFAULT_JOB_LIMITS;

  /**
   * Refuses a job beyond MAX_JOBS_PER_PROJECT. FailedPrecondition, not ResourceExhausted: the
   * caller must delete jobs first, and retrying later (what 429 asks of clients) cannot help.
   * Concurrent creates may each see room: the cap can be passed by as many as race it.
   */
  const checkCapacity = async (projectId: string) => {
    const { total } = await store.listJobsByPage({ projectId }, { page: 1, limit: 1 });
    if (total >= limits.maxJobsPerProject) {
      throw new CronError("failed_precondition", `project ${projectId} already has ${total} jobs, the most allowed (MAX_JOBS_PER_PROJECT=${limits.maxJobsPerProject})`);
    }
  };

  const get = async (jobId: string): Promise<JobRecord> => {
    const job = await store.getJob(jobId);
    if (!job) throw CronError.notFound("job", jobId);
    return job;
  };

  /** Schedule-related fields decide whether next_trigger_at must be recomputed. */
  const scheduleChanged = (a: JobSpec, b: JobSpec) =>
    a.schedule !== b.schedule || a.timezone !== b.timezone || a.runAt !== b.runAt || a.startAt !== b.startAt || a.endAt !== b.endAt;

  const change = async (jobId: string, fn: JobChange, expectedVersion: number, actor: Actor, reason: string) => {
    const current = await get(jobId);
    if (expectedVersion !== 0 && expectedVersion !== current.version) {
      throw new CronError("version_conflict", `job ${jobId} is at version ${current.version}, not ${expectedVersion}`);
    }
    const { spec: raw, status = current.status, pauseNote = current.pauseNote } = fn(current);
    const spec = normalizeSpec(raw);
    // Only a new schedule is held to the minimum interval: pausing an older job must still work.
    if (scheduleChanged(current.spec, spec)) checkScheduleInterval(spec, limits.minScheduleIntervalMs);
    const now = clock.now();
    const resumed = current.status !== "active" && status === "active";
    const next: JobRecord = {
      ...current,
      spec,
      status,
      pauseNote,
      version: current.version + 1,
      updatedAt: now,
      updatedBy: actor.id,
      changeReason: reason,
      nextTriggerAt: scheduleChanged(current.spec, spec) || resumed ? nextTriggerAt(spec, now) : current.nextTriggerAt,
    };
    const saved = await store.updateJob(next, current.version);
    deps.jobChanged(jobId);
    return saved;
  };

  /** The job's queued runs (at most {@link MAX_CANCELLED_ON_DELETE}), read in full. */
  const queuedRuns = async (jobId: string): Promise<RunRecord[]> => {
    const refs = (await store.listActiveRuns({ jobIds: [jobId], limit: MAX_CANCELLED_ON_DELETE })).filter((r) => r.status === "queued");
    const runs = await Promise.all(refs.map((r) => store.getRun(r.runId)));
    return runs.filter((run): run is RunRecord => run !== undefined);
  };

  /**
   * Cancels the job's runs staged ahead of their due time (written and waiting on a worker until
   * the slot comes): a pause takes effect from the very next slot, even one already staged.
   */
  const cancelStaged = async (jobId: string, reason: string) => {
    const now = clock.now();
    const runs = await queuedRuns(jobId);
    await Promise.all(runs.map((run) => run.status === "queued" && run.dueAt > now && deps.canceller.cancel(run, reason)));
  };

  return {
    get,
    change,

    /** Validates and stores a new job at version 1 with its first slot computed. */
    async create(raw: JobSpec, options: CreateOptions, actor: Actor): Promise<JobRecord> {
      const spec = normalizeSpec(raw);
      checkScheduleInterval(spec, limits.minScheduleIntervalMs);
      if (options.jobId && !ID_PATTERN.test(options.jobId)) throw CronError.invalid("job_id", "must match " + ID_PATTERN);
      await checkCapacity(spec.projectId);
      const now = clock.now();
      const job: JobRecord = {
        jobId: options.jobId || deps.ids("job"),
        spec,
        status: options.enabled === false ? "paused" : "active",
        pauseNote: "",
        version: 1,
        createdAt: now,
        createdBy: actor.id,
        updatedAt: now,
        updatedBy: actor.id,
        changeReason: "create",
        nextTriggerAt: nextTriggerAt(spec, now),
        stats: emptyStats(),
      };
      await store.createJob(job);
      deps.jobChanged(job.jobId);
      return job;
    },

    /** Deletes a job: its queued runs are cancelled first; running runs finish. Returns the cancelled count. */
    async remove(jobId: string): Promise<number> {
      await get(jobId);
      const runs = await queuedRuns(jobId);
      const cancelled = await store.cancelQueuedRuns(jobId, clock.now());
      // A queued run may already be on its way on some replica: ask whoever holds it to stop.
      await Promise.all(runs.map((run) => deps.canceller.cancel(run, "job deleted")));
      if (!(await store.deleteJob(jobId))) throw CronError.notFound("job", jobId);
      deps.jobChanged(jobId);
      return cancelled;
    },

    /** Pauses (enabled=false) or resumes (enabled=true) a job, with a note. */
    async setEnabled(jobId: string, enabled: boolean, note: string, actor: Actor): Promise<JobRecord> {
      const job = await get(jobId);
      if (job.status === "completed" || job.status === "cancelled") {
        throw new CronError("failed_precondition", `job ${jobId} is ${job.status} and cannot be ${enabled ? "resumed" : "paused"}`);
      }
      const status: JobStatus = enabled ? "active" : "paused";
      if (job.status === status && note === job.pauseNote) return job;
      const saved = await change(jobId, (c) => ({ spec: c.spec, status, pauseNote: note }), job.version, actor, enabled ? "resume" : "pause");
      if (!enabled) await cancelStaged(jobId, "job paused before the slot was due");
      return saved;
    },

    /** Writes a new version whose spec is that of `version`; history is never rewritten. */
    async rollback(jobId: string, version: number, actor: Actor): Promise<JobRecord> {
      const snapshot = await getVersion(jobId, version);
      return change(jobId, () => ({ spec: snapshot.spec }), 0, actor, `rollback to v${version}`);
    },

    /** Version snapshots, newest first. */
    listVersions: (jobId: string, pageSize: number, before?: number) => listVersions(jobId, pageSize, before),
    getVersion,

    /** Adds, replaces or removes a DAG task; the result must still be a DAG. */
    async editTasks(jobId: string, edit: (tasks: TaskSpec[]) => TaskSpec[], actor: Actor, reason: string): Promise<JobRecord> {
      return change(jobId, (c) => ({ spec: { ...c.spec, tasks: normalizeTasks(edit(c.spec.tasks)) } }), 0, actor, reason);
    },

    /** The job's tasks in dependency order. */
    async listTasks(jobId: string): Promise<TaskSpec[]> {
      return topologicalOrder((await get(jobId)).spec.tasks);
    },
  };

  async function listVersions(jobId: string, pageSize: number, before?: number): Promise<JobVersionRecord[]> {
    const job = await get(jobId);
    const versions = await store.listJobVersions(jobId, pageSize, before);
    // A crash between the job write and its snapshot leaves the newest snapshot missing; the job
    // itself is that snapshot, so history never shows a gap.
    const newest = versions[0]?.version ?? 0;
    if (newest < job.version && (before === undefined || job.version < before)) {
      return [snapshotOf(job), ...versions].slice(0, pageSize);
    }
    return versions;
  }

  async function getVersion(jobId: string, version: number): Promise<JobVersionRecord> {
    const found = await store.getJobVersion(jobId, version);
    if (found) return found;
    const job = await get(jobId);
    if (job.version === version) return snapshotOf(job);
    throw CronError.notFound("version", `${jobId}@${version}`);
  }
}
