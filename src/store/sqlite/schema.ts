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
CREATE INDEX IF NOT EXISTS runs_status ON runs (status, run_id);
CREATE TABLE IF NOT EXISTS deleted_jobs (
  job_id TEXT PRIMARY KEY,
  deleted_at INTEGER NOT NULL
);
`;

/**
 * Indexes on columns that older databases gain through {@link ADDED_COLUMNS} first.
 * `runs_history` holds every column a history trim reads (a job's runs in id order, their status
 * and dead-letter marks), so a trim counts and picks a job's runs from the index alone instead of
 * reading each run (at the default limit, a hundred per job trimmed); it serves every by-job read
 * of runs in id order too, so it replaced `runs_job`, its prefix, dropped once it exists.
 */
export const LATE_INDEXES = `
CREATE INDEX IF NOT EXISTS runs_dead_letters ON runs (run_id) WHERE dead_lettered_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS runs_active_job ON runs (job_id, run_id) WHERE status IN ('queued', 'running');
CREATE INDEX IF NOT EXISTS runs_history ON runs (job_id, run_id, status, dead_lettered_at, redriven_at);
DROP INDEX IF EXISTS runs_job;
`;

/**
 * What job listings read instead of scanning the jobs (a million of them take tens of
 * milliseconds to walk even by index), each kept exact by triggers in the transaction of the
 * job write itself, so it can never disagree with the jobs:
 * - `job_counts`: jobs per project and status, the total of an offset page filtered by those
 *   alone, the project's job count for its cap, all without counting rows;
 * - `job_tags`: one `k:key` and one `t:key=value` entry per tag (as the MongoDB store's `tagIndex`),
 *   so a tag filter walks the matching jobs in id order;
 * - `job_text` (FTS5, trigram: case-insensitive substrings of 3 characters or more) over names
 *   and descriptions, its rows keyed by `job_text_keys` (a job id's own integer key: the jobs
 *   table's rowid may change on VACUUM);
 * - indexes on status and creator in job-id order.
 * A job's project never changes, so no trigger follows it. Status changes of the scheduler's
 * advance (a one-shot completing) are rare, and fire the status trigger only then.
 */
export const LISTING_SCHEMA = `
CREATE TABLE IF NOT EXISTS job_counts (
  project_id TEXT NOT NULL,
  status TEXT NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (project_id, status)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS job_tags (
  entry TEXT NOT NULL,
  job_id TEXT NOT NULL,
  PRIMARY KEY (entry, job_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS job_tags_job ON job_tags (job_id);
CREATE TABLE IF NOT EXISTS job_text_keys (
  text_rowid INTEGER PRIMARY KEY,
  job_id TEXT NOT NULL UNIQUE
);
CREATE VIRTUAL TABLE IF NOT EXISTS job_text USING fts5(name, description, content='', contentless_delete=1, tokenize='trigram');
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, job_id);
CREATE INDEX IF NOT EXISTS jobs_project_status ON jobs (project_id, status, job_id);
CREATE INDEX IF NOT EXISTS jobs_owner ON jobs (json_extract(doc, '$.createdBy'), job_id);
CREATE TRIGGER IF NOT EXISTS jobs_listing_insert AFTER INSERT ON jobs BEGIN
  INSERT INTO job_counts (project_id, status, n) VALUES (new.project_id, new.status, 1)
    ON CONFLICT (project_id, status) DO UPDATE SET n = n + 1;
  INSERT OR IGNORE INTO job_tags (entry, job_id) SELECT 'k:' || key, new.job_id FROM json_each(new.tags);
  INSERT OR IGNORE INTO job_tags (entry, job_id) SELECT 't:' || key || '=' || value, new.job_id FROM json_each(new.tags);
  INSERT INTO job_text_keys (job_id) VALUES (new.job_id);
  INSERT INTO job_text (rowid, name, description) VALUES (last_insert_rowid(), new.name, new.description);
END;
CREATE TRIGGER IF NOT EXISTS jobs_listing_delete AFTER DELETE ON jobs BEGIN
  UPDATE job_counts SET n = n - 1 WHERE project_id = old.project_id AND status = old.status;
  DELETE FROM job_tags WHERE job_id = old.job_id;
  DELETE FROM job_text WHERE rowid = (SELECT text_rowid FROM job_text_keys WHERE job_id = old.job_id);
  DELETE FROM job_text_keys WHERE job_id = old.job_id;
END;
CREATE TRIGGER IF NOT EXISTS jobs_listing_status AFTER UPDATE OF status ON jobs WHEN old.status IS NOT new.status BEGIN
  UPDATE job_counts SET n = n - 1 WHERE project_id = old.project_id AND status = old.status;
  INSERT INTO job_counts (project_id, status, n) VALUES (new.project_id, new.status, 1)
    ON CONFLICT (project_id, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS jobs_listing_tags AFTER UPDATE OF tags ON jobs WHEN old.tags IS NOT new.tags BEGIN
  DELETE FROM job_tags WHERE job_id = old.job_id;
  INSERT OR IGNORE INTO job_tags (entry, job_id) SELECT 'k:' || key, new.job_id FROM json_each(new.tags);
  INSERT OR IGNORE INTO job_tags (entry, job_id) SELECT 't:' || key || '=' || value, new.job_id FROM json_each(new.tags);
END;
CREATE TRIGGER IF NOT EXISTS jobs_listing_text AFTER UPDATE OF name, description ON jobs
  WHEN old.name IS NOT new.name OR old.description IS NOT new.description BEGIN
  DELETE FROM job_text WHERE rowid = (SELECT text_rowid FROM job_text_keys WHERE job_id = new.job_id);
  INSERT INTO job_text (rowid, name, description)
    VALUES ((SELECT text_rowid FROM job_text_keys WHERE job_id = new.job_id), new.name, new.description);
END;
`;

/**
 * Fills the listing tables from the jobs already stored, once: in the transaction that creates
 * them on a database of an earlier version (a million jobs take about a minute, once).
 */
export const LISTING_BACKFILL = `
INSERT INTO job_counts (project_id, status, n) SELECT project_id, status, COUNT(*) FROM jobs GROUP BY project_id, status;
INSERT OR IGNORE INTO job_tags (entry, job_id) SELECT 'k:' || t.key, j.job_id FROM jobs j, json_each(j.tags) t;
INSERT OR IGNORE INTO job_tags (entry, job_id) SELECT 't:' || t.key || '=' || t.value, j.job_id FROM jobs j, json_each(j.tags) t;
INSERT INTO job_text_keys (job_id) SELECT job_id FROM jobs;
INSERT INTO job_text (rowid, name, description) SELECT k.text_rowid, j.name, j.description FROM job_text_keys k JOIN jobs j ON j.job_id = k.job_id;
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
