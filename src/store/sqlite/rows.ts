import type { JobRecord, JobVersionRecord } from "../../domain/job.js";
import { upgradeRun, type RunRecord, type RunStatus } from "../../domain/run.js";
import { deepFreeze } from "../../runtime/deep-freeze.js";

/** A row of the jobs table. */
export interface JobRow {
  job_id: string;
  status: JobRecord["status"];
  doc: string;
  next_trigger_at: number | null;
  last_triggered_at: number | null;
  last_run_duration_ms: number | null;
  last_run_status: RunStatus | null;
  run_count: number;
  fail_count: number;
  skipped_count: number;
  dropped_count: number;
}

/** The JSON part of a job row: everything but the scheduler-maintained columns. */
type JobDoc = Omit<JobRecord, "stats" | "nextTriggerAt">;

/** Column values for inserting or replacing a job. */
export function jobParams(job: JobRecord): Record<string, unknown> {
  const { stats: _stats, nextTriggerAt, ...doc } = job;
  return {
    job_id: job.jobId,
    project_id: job.spec.projectId,
    status: job.status,
    version: job.version,
    next_trigger_at: nextTriggerAt ?? null,
    name: job.spec.name,
    description: job.spec.description,
    tags: JSON.stringify(job.spec.tags),
    doc: JSON.stringify(doc satisfies JobDoc),
  };
}

/**
 * Job documents parsed lately, by their text. A parse is a pure function of the text, so an
 * entry can never go stale (a changed job has another text), and parsing is most of the cost of
 * reading a job (listings read pages of them over and over). Big enough for the pages read at
 * once by many callers, small enough to bound memory (a few MB); the oldest entry goes first.
 */
const PARSED_DOCS = 4096;
const parsedDocs = new Map<string, JobDoc>();

/** The job document of this text, shared between reads: deeply frozen, so that no reader can change another's. */
function parsedDoc(text: string): JobDoc {
  let doc = parsedDocs.get(text);
  if (doc) return doc;
  doc = deepFreeze(JSON.parse(text) as JobDoc);
  if (parsedDocs.size >= PARSED_DOCS) parsedDocs.delete(parsedDocs.keys().next().value!);
  parsedDocs.set(text, doc);
  return doc;
}

/** Rebuilds a job record from its row (a new record; its document's parts are shared and frozen). */
export function jobFromRow(row: JobRow): JobRecord {
  const doc = parsedDoc(row.doc);
  const job: JobRecord = {
    ...doc,
    // The scheduler changes the status column alone (a one-shot job completing).
    status: row.status,
    stats: {
      runCount: row.run_count,
      failCount: row.fail_count,
      skippedCount: row.skipped_count,
      droppedCount: row.dropped_count,
    },
  };
  if (row.next_trigger_at !== null) job.nextTriggerAt = row.next_trigger_at;
  if (row.last_triggered_at !== null) job.stats.lastTriggeredAt = row.last_triggered_at;
  if (row.last_run_duration_ms !== null) job.stats.lastRunDurationMs = row.last_run_duration_ms;
  if (row.last_run_status != null) job.stats.lastRunStatus = row.last_run_status;
  return job;
}

/** Column values for a version snapshot. */
export function versionParams(v: JobVersionRecord): Record<string, unknown> {
  return { job_id: v.jobId, version: v.version, doc: JSON.stringify(v) };
}

/** Column values for a run. */
export function runParams(run: RunRecord): Record<string, unknown> {
  return {
    run_id: run.runId,
    job_id: run.jobId,
    project_id: run.projectId,
    slot_key: run.slotKey,
    status: run.status,
    run_trigger: run.trigger,
    scheduled_at: run.scheduledAt,
    revision: run.revision,
    doc: JSON.stringify(run),
    dead_lettered_at: run.deadLetteredAt ?? null,
    redriven_at: run.redrivenAt ?? null,
  };
}

/** Parses a JSON `doc` column. */
export function fromDoc<T>(row: { doc: string }): T {
  return JSON.parse(row.doc) as T;
}

/** Parses a run's `doc` column (a legacy state read in today's terms). */
export function runFromDoc(row: { doc: string }): RunRecord {
  return upgradeRun(JSON.parse(row.doc) as RunRecord);
}
