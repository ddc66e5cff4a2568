import type { JobRecord, JobSpec } from "../domain/job.js";
import type { RunRecord } from "../domain/run.js";
import type { Store } from "../store/store.js";

/** Jobs as workers need them, read once and shared by every run of a job. */
export interface JobCache {
  /** The job as stored (cached until {@link JobCache.forget}), or undefined when deleted. */
  job(jobId: string): Promise<JobRecord | undefined>;
  /** The spec a run executes: its job version's, or the current one when that version is gone. */
  specOf(run: Pick<RunRecord, "jobId" | "jobVersion">): Promise<JobSpec | undefined>;
  /**
   * The spec a run executes when it is known without waiting (its job read and of the run's
   * version); otherwise undefined, and {@link JobCache.specOf} finds it.
   */
  knownSpecOf(run: Pick<RunRecord, "jobId" | "jobVersion">): JobSpec | undefined;
  /**
   * Drops what is cached of a job (it changed). With `version`, the job's version as changed: from
   * then on an offer of an older version of the job is ignored, so a caller holding a job read
   * before the change (the fire loop, until it reloads) cannot put it back.
   */
  forget(jobId: string, version?: number): void;
  /** Offers a job the caller already read. */
  remember(job: JobRecord): void;
  /**
   * Offers a job the caller read a moment ago (the fire loop, handing its runs over), kept only
   * when nothing of the job is cached: it never overrides a fresher read.
   */
  offer(job: JobRecord): void;
}

/**
 * Bound on cached jobs: enough for the jobs active at once on a large node; beyond it the oldest
 * entries go (the cache only saves reads, it never decides anything).
 */
const MAX_ENTRIES = 50_000;

/** Creates a job cache over the store. Concurrent reads of one job share one store call. */
export function createJobCache(store: Store): JobCache {
  /** Per job: its read, shared by concurrent callers, and the job once the read has completed. */
  const jobs = new Map<string, { read: Promise<JobRecord | undefined>; job?: JobRecord }>();
  const versions = new Map<string, Promise<JobSpec | undefined>>();
  /** Per job, the least version an offer must have (the newest change announced). */
  const floors = new Map<string, number>();
  const bounded = <T>(map: Map<string, T>, key: string, value: T) => {
    if (map.size >= MAX_ENTRIES) map.delete(map.keys().next().value!);
    map.set(key, value);
    return value;
  };
  const job = (jobId: string) => {
    const cached = jobs.get(jobId);
    if (cached) return cached.read;
    const entry: { read: Promise<JobRecord | undefined>; job?: JobRecord } = { read: store.getJob(jobId) };
    entry.read.then(
      (j) => void (entry.job = j),
      () => jobs.delete(jobId),
    );
    return bounded(jobs, jobId, entry).read;
  };
  const remember = (j: JobRecord) => {
    if (j.version < (floors.get(j.jobId) ?? 0)) return;
    bounded(jobs, j.jobId, { read: Promise.resolve(j), job: j });
  };
  const versionSpec = (jobId: string, version: number) => {
    const key = `${jobId}@${version}`;
    const cached = versions.get(key);
    if (cached) return cached;
    const read = store.getJobVersion(jobId, version).then((v) => v?.spec);
    read.catch(() => versions.delete(key));
    return bounded(versions, key, read);
  };
  return {
    job,
    async specOf(run) {
      const current = await job(run.jobId);
      if (!current) return undefined;
      if (current.version === run.jobVersion) return current.spec;
      return (await versionSpec(run.jobId, run.jobVersion)) ?? current.spec;
    },
    knownSpecOf(run) {
      const current = jobs.get(run.jobId)?.job;
      return current?.version === run.jobVersion ? current.spec : undefined;
    },
    forget(jobId, version) {
      jobs.delete(jobId);
      if (version !== undefined && version > (floors.get(jobId) ?? 0)) bounded(floors, jobId, version);
    },
    remember,
    offer: (j) => {
      if (!jobs.has(j.jobId)) remember(j);
    },
  };
}
