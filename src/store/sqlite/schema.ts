/**
 * Tables of the embedded store. Indexed columns hold what queries filter or sort on; the rest of
 * each record is a JSON document, so the domain record round-trips exactly.
 */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  job_id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL,
  status TEXT NOT NULL,
  version INTEGER NOT NULL,
  next_trigger_at INTEGER,
  name TEXT NOT NULL,
  description TEXT NOT NULL,
  tags TEXT NOT NULL,
  doc TEXT NOT NULL,
  last_triggered_at INTEGER,
  last_run_duration_ms INTEGER,
  run_count INTEGER NOT NULL DEFAULT 0,
  fail_count INTEGER NOT NULL DEFAULT 0,
  skipped_count INTEGER NOT NULL DEFAULT 0,
  dropped_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_due ON jobs (status, next_trigger_at);
CREATE INDEX IF NOT EXISTS jobs_project ON jobs (project_id, job_id);
CREATE TABLE IF NOT EXISTS job_versions (
  job_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  doc TEXT NOT NULL,
  PRIMARY KEY (job_id, version)
);
CREATE TABLE IF NOT EXISTS runs (
  run_id TEXT PRIMARY KEY,
  job_id TEXT NOT NULL,
  project_id TEXT NOT NULL,
  slot_key TEXT NOT NULL,
  status TEXT NOT NULL,
  revision INTEGER NOT NULL,
  doc TEXT NOT NULL,
  UNIQUE (job_id, slot_key)
);
CREATE INDEX IF NOT EXISTS runs_job ON runs (job_id, run_id);
CREATE INDEX IF NOT EXISTS runs_status ON runs (status, run_id);
`;
