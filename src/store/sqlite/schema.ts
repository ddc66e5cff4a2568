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
CREATE TABLE IF NOT EXISTS deleted_jobs (
  job_id TEXT PRIMARY KEY,
  deleted_at INTEGER NOT NULL
);
`;

/** Indexes on columns that older databases gain through {@link MIGRATIONS} first. */
export const LATE_INDEXES = `
CREATE INDEX IF NOT EXISTS runs_dead_letters ON runs (run_id) WHERE dead_lettered_at IS NOT NULL;
`;

/** A column added after the first release, and how rows stored before it get their value. */
export interface AddedColumn {
  type: string;
  /** Run in the same transaction as the ALTER TABLE that adds the column. */
  backfill?: string;
}

/** Columns added after the first release, by table: added to older databases at start-up. */
export const ADDED_COLUMNS: Record<string, Record<string, AddedColumn>> = {
  runs: {
    dead_lettered_at: { type: "INTEGER" },
    redriven_at: { type: "INTEGER" },
    // Listing filters: what created the run, and its nominal slot (both never change).
    run_trigger: { type: "TEXT", backfill: "UPDATE runs SET run_trigger = json_extract(doc, '$.trigger')" },
    scheduled_at: { type: "INTEGER", backfill: "UPDATE runs SET scheduled_at = json_extract(doc, '$.scheduledAt')" },
  },
  jobs: { last_run_status: { type: "TEXT" } },
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
