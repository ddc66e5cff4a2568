import { durationMs, type Duration } from "@bufbuild/protobuf/wkt";
import type { BackfillJobResponse, DeleteJobResponse, RollbackJobResponse, TriggerJobResponse } from "../../../gen/cronmesh/v1/cron_service_pb.js";
import {
  ConcurrencyPolicy,
  JobStatus,
  MisfirePolicy,
  RetryOn,
  type HttpTarget,
  type Job,
  type JobVersion,
  type Task,
} from "../../../gen/cronmesh/v1/job_pb.js";
import { formatDuration } from "../../domain/duration.js";
import { jobToData } from "../job-file.js";
import { toYaml } from "../proto-yaml.js";
import { enumWord } from "../enum-words.js";
import { renderFields, renderTable } from "../table.js";
import { localTime } from "../time-format.js";

/** A job's schedule as written, or "once" for a one-shot job (its time is its next run). */
function scheduleOf(job: Job): string {
  return job.schedule || (job.runAt ? "once" : "-");
}

function duration(d: Duration | undefined): string | undefined {
  return d ? formatDuration(durationMs(d)) : undefined;
}

/** "POST http://…", or the handler's name, or the DAG's size. */
function targetOf(job: { target?: HttpTarget; handler: string; tasks?: Task[] }): string {
  if (job.target) return `${job.target.method || "POST"} ${job.target.url}`;
  if (job.handler) return `handler ${job.handler}`;
  return job.tasks?.length ? `${job.tasks.length} DAG tasks` : "-";
}

/** The jobs table: one line per job, the schedule raw, times local. */
export function jobsTable(jobs: readonly Job[]): string {
  return renderTable(
    ["JOB ID", "NAME", "STATUS", "SCHEDULE", "TIMEZONE", "NEXT RUN", "LAST RUN"],
    jobs.map((j) => [j.jobId, j.name, enumWord(JobStatus, j.status), scheduleOf(j), j.timezone, localTime(j.nextTriggerAt), localTime(j.lastTriggeredAt)]),
  );
}

/** Every detail of one job, then its DAG tasks when it has any. */
export function jobDetails(job: Job): string {
  const retry = job.retry;
  const tags = Object.entries(job.tags)
    .map(([k, v]) => (v ? `${k}=${v}` : k))
    .join(", ");
  const fields = renderFields([
    ["Job ID", job.jobId],
    ["Name", job.name],
    ["Project", job.projectId],
    ["Description", job.description || undefined],
    ["Tags", tags || undefined],
    ["Status", enumWord(JobStatus, job.status) + (job.pauseNote ? ` (${job.pauseNote})` : "")],
    ["Schedule", job.schedule || undefined],
    ["Run at", job.runAt ? localTime(job.runAt) : undefined],
    ["Time zone", job.timezone],
    ["Starts", job.startAt ? localTime(job.startAt) : undefined],
    ["Ends", job.endAt ? localTime(job.endAt) : undefined],
    ["Next run", localTime(job.nextTriggerAt)],
    ["Last run", localTime(job.lastTriggeredAt)],
    ["Target", targetOf(job)],
    ["Timeout", duration(job.target?.timeout)],
    [
      "Retry",
      retry
        ? `${retry.maxAttempts} attempts, ${enumWord(RetryOn, retry.retryOn)}, backoff ${duration(retry.initialBackoff) ?? "0s"}×${retry.multiplier} up to ${duration(retry.maxBackoff) ?? "0s"}`
        : undefined,
    ],
    ["Concurrency", enumWord(ConcurrencyPolicy, job.concurrencyPolicy)],
    ["Misfire", `${enumWord(MisfirePolicy, job.misfirePolicy)}` + (job.catchupWindow ? `, catch-up window ${duration(job.catchupWindow)}` : "")],
    ["Max jitter", duration(job.maxJitter)],
    ["Runs", `${job.runCount} finished, ${job.failCount} failed, ${job.skippedCount} skipped` + (job.lockAcquired ? ", one running" : "")],
    ["Version", `${job.version}`],
    ["Created", `${localTime(job.createdAt)} by ${job.createdBy || "-"}`],
    ["Updated", `${localTime(job.updatedAt)} by ${job.updatedBy || "-"}`],
  ]);
  return job.tasks.length ? `${fields}\nTasks:\n${tasksTable(job.tasks)}` : fields;
}

/** A DAG's tasks: id, name, what each waits for and what it calls. */
export function tasksTable(tasks: readonly Task[]): string {
  return renderTable(
    ["TASK ID", "NAME", "DEPENDS ON", "TARGET"],
    tasks.map((t) => [t.taskId, t.name || "-", t.dependsOn.join(", ") || "-", targetOf(t)]),
  );
}

/** A job's versions, newest first. */
export function versionsTable(versions: readonly JobVersion[]): string {
  return renderTable(
    ["VERSION", "CREATED", "BY", "REASON", "STATUS", "SCHEDULE"],
    versions.map((v) => [
      `${v.version}`,
      localTime(v.createdAt),
      v.createdBy || "-",
      v.reason || "-",
      v.config ? enumWord(JobStatus, v.config.status) : "-",
      v.config ? scheduleOf(v.config) : "-",
    ]),
  );
}

/** One version's configuration as a job file, under a comment saying what made it. */
export function versionYaml(v: JobVersion): string {
  const config = v.config ? toYaml(jobToData(v.config)) : "";
  return `# version ${v.version} of job ${v.jobId}: ${v.reason || "-"}, by ${v.createdBy || "-"}\n${config}`;
}

/** One line saying what a create, update or apply did. */
export function jobChanged(action: string, job: Job): string {
  const next = job.nextTriggerAt ? `, next run ${localTime(job.nextTriggerAt)}` : "";
  return `${action} job ${job.jobId} "${job.name}" (version ${job.version}, ${enumWord(JobStatus, job.status)}${next})\n`;
}

/** What a trigger did: the run it created, or why none runs. */
export function triggered(res: TriggerJobResponse): string {
  const run = res.runId || res.run?.runId || "-";
  if (!res.lockAcquired)
    return `job ${res.jobId} not triggered: a run of it is in progress and its concurrency policy forbids another (run ${run} recorded as skipped)\n`;
  return `triggered job ${res.jobId}: run ${run}\n`;
}

/** What a delete did. */
export function deleted(res: DeleteJobResponse): string {
  return `deleted job ${res.jobId}` + (res.cancelledRuns ? `; ${res.cancelledRuns} queued or running runs cancelled` : "") + "\n";
}

/** What a rollback did. */
export function rolledBack(res: RollbackJobResponse, toVersion: bigint): string {
  return `job ${res.job?.jobId} now runs the configuration of version ${toVersion}: version ${res.rolledBackFrom} → ${res.newVersion}\n`;
}

/** What a backfill did. */
export function backfilled(jobId: string, res: BackfillJobResponse): string {
  return `backfilled job ${jobId}: ${res.slots} runs created\n`;
}
