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
  dead_lettered_at INTEGER,
  redriven_at INTEGER,
  UNIQUE (job_id, slot_key)
);
CREATE INDEX IF NOT EXISTS runs_job ON runs (job_id, run_id);
CREATE INDEX IF NOT EXISTS runs_status ON runs (status, run_id);
`;

/** Indexes on columns that older databases gain through {@link MIGRATIONS} first. */
export const LATE_INDEXES = `
CREATE INDEX IF NOT EXISTS runs_dead_letters ON runs (run_id) WHERE dead_lettered_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS runs_active_job ON runs (job_id, run_id) WHERE status IN ('queued', 'running');
`;

/** Columns added after the first release, by table: added to older databases at start-up. */
export const ADDED_COLUMNS: Record<string, Record<string, string>> = {
  runs: { dead_lettered_at: "INTEGER", redriven_at: "INTEGER" },
};

/**
 * Runs stored as `dead_lettered` by earlier versions become `failed` runs in the dead-letter
 * queue (entered when they finished). Idempotent.
 */
export const UPGRADE_DEAD_LETTERED = `
UPDATE runs SET status = 'failed',
  dead_lettered_at = COALESCE(json_extract(doc, '$.finishedAt'), json_extract(doc, '$.updatedAt')),
  doc = json_set(doc, '$.status', 'failed', '$.deadLetteredAt', COALESCE(json_extract(doc, '$.finishedAt'), json_extract(doc, '$.updatedAt')))
WHERE status = 'dead_lettered';
`;
