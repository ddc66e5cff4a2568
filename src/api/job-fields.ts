/**
 * Output-only fields of `cronmesh.v1.Job` (proto names): set by the server, ignored when an update
 * names them in its mask or sends them in a body. Clients (the CLI's job files) leave them out of
 * what a caller edits.
 */
export const OUTPUT_ONLY_JOB_FIELDS: ReadonlySet<string> = new Set([
  "job_id",
  "version",
  "created_at",
  "created_by",
  "updated_at",
  "updated_by",
  "next_trigger_at",
  "last_triggered_at",
  "last_run_duration_ms",
  "run_count",
  "fail_count",
  "lock_acquired",
  "skipped_count",
  "dropped_count",
  "last_run_status",
  "recent_runs",
]);
