import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { CronError } from "../../domain/cron-error.js";
import { snapshotOf, type JobRecord, type JobVersionRecord } from "../../domain/job.js";
import { FINAL_RUN_STATUSES, type RunRecord, type RunStatus } from "../../domain/run.js";
import type {
  ActiveRun,
  ActiveRunQuery,
  DeadLetterQuery,
  DeletedJob,
  Scope,
  DueJobRef,
  HistoryLimit,
  JobFilter,
  InsertOptions,
  InsertRunResult,
  JobAdvance,
  OffsetQuery,
  Page,
  RunOutcome,
  RunQuery,
  RunUpdate,
  Store,
} from "../store.js";
import { fromDoc, jobFromRow, jobParams, runFromDoc, runParams, versionParams, type JobRow } from "./rows.js";
import { FOREGROUND_CHECKPOINT_PAGES, startCheckpointer } from "./checkpointer.js";
import { ADDED_COLUMNS, LATE_INDEXES, LISTING_BACKFILL, LISTING_SCHEMA, SCHEMA, UPGRADE_DEAD_LETTERED } from "./schema.js";
import { deadLetterWhere, runWhere, type Where } from "./where.js";
import { listingQuery, scansText, searchesText, walksHere, type ListingQuery } from "./job-listing.js";
import { createListingTotals } from "./listing-totals.js";
import { inProcessReader, startReaderThread, type Reader } from "./reader-thread.js";
import { offsetStart, offsetWindow } from "../offset-page.js";
import { createBatcher } from "../../runtime/batcher.js";

/** Where the embedded store keeps its data: a file path, or `:memory:`. */
export interface SqliteStoreOptions {
  path: string;
  /** Reports a failed background checkpoint (the node's own connection checkpoints as a fallback). */
  onError?: (message: string) => void;
}

/**
 * SQLite's page cache of the node's connection, in KiB (64 MiB; SQLite's default is 2 MiB). An
 * offset page deep into a listing of a million jobs walks half a million index entries, tens of
 * megabytes of index pages: with the default cache, every such page is read again from the
 * operating system each time, several times slower than from the cache. It is an upper bound on
 * the node's memory, reached only by such walks.
 */
export const PAGE_CACHE_KIB = 65_536;

/** Statements kept per `IN (...)` list length (lists up to a fire batch or a read chunk long). */
const MAX_IN_STATEMENTS = 512;

/**
 * A statement with an `IN (?, …)` list of `n` parameters, prepared once per length: preparing is
 * most of the cost of a small query (about 60 µs), and the same lengths come back all the time.
 */
function inStatements(db: Database.Database, sql: (placeholders: string) => string): (n: number) => Database.Statement {
  const cache = new Map<number, Database.Statement>();
  return (n) => {
    let statement = cache.get(n);
    if (!statement) {
      statement = db.prepare(sql(new Array<string>(n).fill("?").join(",")));
      if (cache.size >= MAX_IN_STATEMENTS) cache.delete(cache.keys().next().value!);
      cache.set(n, statement);
    }
    return statement;
  };
}

/** Statements kept by SQL text (listings: one per combination of filters, a few dozen at most). */
const MAX_CACHED_STATEMENTS = 256;

/** Prepares each SQL text once: preparing costs more than running a small query. */
function statementCache(db: Database.Database): (sql: string) => Database.Statement {
  const cache = new Map<string, Database.Statement>();
  return (sql) => {
    let statement = cache.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      if (cache.size >= MAX_CACHED_STATEMENTS) cache.delete(cache.keys().next().value!);
      cache.set(sql, statement);
    }
    return statement;
  };
}

/** A row of `jobs` or `runs` within the `@scope` project (every project when it is null). */
const IN_SCOPE = "(@scope IS NULL OR project_id = @scope)";
/** A version snapshot within the `@scope` project (snapshots hold their project in their document). */
const VERSION_IN_SCOPE = "(@scope IS NULL OR json_extract(doc, '$.spec.projectId') = @scope)";

/** Ids bound in one `IN (...)` list (SQLite allows 32,766 parameters per statement). */
const IN_CHUNK = 500;

/**
 * The embedded Store adapter on SQLite (better-sqlite3, WAL mode). Calls are synchronous under the
 * hood; multi-row writes run in one SQLite transaction, which is atomic by construction.
 */
export function createSqliteStore(options: SqliteStoreOptions): Store {
  if (options.path !== ":memory:") mkdirSync(dirname(options.path), { recursive: true });
  const db = new Database(options.path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  // Wait rather than fail when another process briefly holds the write lock.
  db.pragma("busy_timeout = 5000");
  db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
  // A file database moves its WAL into the main file from a thread of its own.
  const checkpointer = options.path === ":memory:" ? undefined : startCheckpointer(options.path, options.onError ?? (() => undefined));
  db.pragma(`wal_autocheckpoint = ${checkpointer ? FOREGROUND_CHECKPOINT_PAGES : 1000}`);
  // Statements are prepared eagerly, so the schema must exist first; it is idempotent.
  prepareSchema(db);
  const guarded =
    <A extends unknown[], R>(fn: (...args: A) => R | Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await fn(...args);
      } catch (err) {
        throw mapSqliteError(err);
      }
    };
  const statement = statementCache(db);
  // A file's listings read on a thread of their own; an in-memory database has only this connection.
  const reader = options.path === ":memory:" ? inProcessReader(statement) : startReaderThread(options.path, PAGE_CACHE_KIB);
  const jobs = jobStatements(db, statement, reader);
  const runs = runStatements(db);
  // Reads the schema page: proves the database file is open and readable, scanning nothing.
  const schemaPage = db.prepare("SELECT count(*) FROM sqlite_master");
  return {
    init: guarded(() => prepareSchema(db)),
    close: async () => {
      await reader.stop();
      await checkpointer?.stop();
      db.close();
    },
    ping: guarded(() => void schemaPage.get()),
    createJob: jobs.createInBatch,
    getJob: guarded(jobs.get),
    updateJob: guarded(jobs.update),
    deleteJob: guarded(jobs.remove),
    listDeletedJobs: guarded(jobs.deletedJobs),
    forgetDeletedJob: guarded(jobs.forgetDeletion),
    listJobs: guarded(jobs.list),
    listJobsByPage: guarded(jobs.listByPage),
    countJobs: guarded(jobs.count),
    listJobVersions: guarded(jobs.versions),
    getJobVersion: guarded(jobs.version),
    listDueJobs: guarded(jobs.due),
    listDueJobRefs: guarded(jobs.dueRefs),
    getJobs: guarded(jobs.many),
    advanceJobs: guarded(jobs.advance),
    recordRunOutcomes: guarded(jobs.recordOutcomes),
    insertRuns: guarded(runs.insert),
    getRun: guarded(runs.get),
    updateRun: guarded(runs.update),
    updateRuns: guarded(runs.updateMany),
    listRuns: guarded(runs.list),
    listDeadLetters: guarded(runs.deadLetters),
    countRuns: guarded(runs.count),
    countDeadLetters: guarded(runs.countDeadLetters),
    markRedriven: guarded(runs.markRedriven),
    expireDeadLetters: guarded(runs.expireDeadLetters),
    listActiveRuns: guarded(runs.active),
    purgeRuns: guarded(runs.purge),
    busyJobs: guarded(runs.busy),
    cancelQueuedRuns: guarded(runs.cancelQueued),
    trimRuns: guarded(runs.trim),
    // Inserts are single transactions here: nothing is ever left half-written.
    repairRuns: async () => 0,
  };
}

/**
 * Creates the schema, and brings an older database up to it: columns added since, then the
 * indexes on them, then stored legacy states in today's terms. Idempotent.
 */
function prepareSchema(db: Database.Database): void {
  db.exec(SCHEMA);
  for (const [table, columns] of Object.entries(ADDED_COLUMNS)) {
    const present = new Set((db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name));
    for (const [name, column] of Object.entries(columns)) {
      if (present.has(name)) continue;
      db.transaction(() => {
        db.exec(`ALTER TABLE ${table} ADD COLUMN ${name} ${column.type}`);
        if (column.backfill) db.exec(column.backfill);
      })();
    }
  }
  db.exec(LATE_INDEXES);
  db.exec(UPGRADE_DEAD_LETTERED);
  prepareListing(db);
}

/** The listing tables and their triggers; on a database that had none, filled from its jobs in the same transaction. */
function prepareListing(db: Database.Database): void {
  db.transaction(() => {
    const existed = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'job_counts'").get() !== undefined;
    db.exec(LISTING_SCHEMA);
    if (!existed) db.exec(LISTING_BACKFILL);
  })();
}

function mapSqliteError(err: unknown): CronError {
  if (err instanceof CronError) return err;
  const code = (err as { code?: string }).code ?? "";
  if (code === "SQLITE_CONSTRAINT_PRIMARYKEY" || code === "SQLITE_CONSTRAINT_UNIQUE") {
    return new CronError("already_exists", "record already exists", undefined, { cause: err });
  }
  if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED") {
    return new CronError("unavailable", "embedded store is busy", undefined, { cause: err });
  }
  return CronError.from(err);
}

const JOB_COLUMNS = `job_id, status, doc, next_trigger_at, last_triggered_at, last_run_duration_ms,
  last_run_status, run_count, fail_count, skipped_count, dropped_count`;

function jobStatements(db: Database.Database, statement: (sql: string) => Database.Statement, reader: Reader) {
  const insertJob = db.prepare(`INSERT INTO jobs (job_id, project_id, status, version, next_trigger_at, name, description, tags, doc)
    VALUES (@job_id, @project_id, @status, @version, @next_trigger_at, @name, @description, @tags, @doc)`);
  const insertVersion = db.prepare("INSERT OR IGNORE INTO job_versions (job_id, version, doc) VALUES (@job_id, @version, @doc)");
  const selectJob = db.prepare(`SELECT ${JOB_COLUMNS} FROM jobs WHERE job_id = @jobId AND ${IN_SCOPE}`);
  // A job keeps its project: the write matches the stored one.
  const casJob = db.prepare(`UPDATE jobs SET status=@status, version=@version,
    next_trigger_at=@next_trigger_at, name=@name, description=@description, tags=@tags, doc=@doc
    WHERE job_id=@job_id AND version=@expected AND project_id=@project_id`);
  const selectVersions = db.prepare(`SELECT doc FROM job_versions WHERE job_id = @jobId AND version < @before AND ${VERSION_IN_SCOPE}
    ORDER BY version DESC LIMIT @limit`);
  const selectVersion = db.prepare(`SELECT doc FROM job_versions WHERE job_id = @jobId AND version = @version AND ${VERSION_IN_SCOPE}`);
  const countJobs = db.prepare(`SELECT COALESCE(SUM(n), 0) AS n FROM job_counts WHERE ${IN_SCOPE}`);
  const advanceSet = `next_trigger_at=@next, last_triggered_at=COALESCE(@last, last_triggered_at),
      skipped_count=skipped_count+@skipped, dropped_count=dropped_count+@dropped`;
  // The status is set only when it changes (a one-shot completing): setting it at all rewrites
  // its index entries and runs the listing counts' trigger, on every fire.
  const advanceJob = db.prepare(`UPDATE jobs SET ${advanceSet} WHERE job_id=@jobId AND next_trigger_at IS @expected`);
  const advanceJobStatus = db.prepare(`UPDATE jobs SET ${advanceSet}, status=@status WHERE job_id=@jobId AND next_trigger_at IS @expected`);
  const outcome = db.prepare(`UPDATE jobs SET run_count=run_count+1, fail_count=fail_count+@failed,
    last_run_duration_ms=@durationMs, last_run_status=COALESCE(@status, last_run_status) WHERE job_id=@jobId`);
  const skippedOutcome = db.prepare("UPDATE jobs SET skipped_count=skipped_count+1 WHERE job_id=?");
  const recordDeletion = db.prepare(`INSERT INTO deleted_jobs (job_id, deleted_at) VALUES (?, ?)
    ON CONFLICT (job_id) DO UPDATE SET deleted_at = MAX(deleted_at, excluded.deleted_at)`);
  const selectDeleted = db.prepare("SELECT job_id AS jobId, deleted_at AS deletedAt FROM deleted_jobs WHERE deleted_at < ? ORDER BY deleted_at LIMIT ?");
  const forgetDeletion = db.prepare("DELETE FROM deleted_jobs WHERE job_id = ? AND deleted_at = ?");
  const selectDue = db.prepare(`SELECT ${JOB_COLUMNS} FROM jobs WHERE status='active' AND next_trigger_at <= @before AND ${IN_SCOPE}
    ORDER BY next_trigger_at, job_id LIMIT @limit`);
  const selectDueRefs = db.prepare(`SELECT job_id AS jobId, version, next_trigger_at AS nextTriggerAt FROM jobs
    WHERE status='active' AND next_trigger_at <= ? ORDER BY next_trigger_at, job_id LIMIT ?`);
  /** Jobs by id, {@link IN_CHUNK} ids per statement. */
  const selectMany = inStatements(db, (ids) => `SELECT ${JOB_COLUMNS} FROM jobs WHERE job_id IN (${ids})`);
  const many = (jobIds: string[]): JobRecord[] => {
    const out: JobRecord[] = [];
    for (let i = 0; i < jobIds.length; i += IN_CHUNK) {
      const ids = jobIds.slice(i, i + IN_CHUNK);
      out.push(...(selectMany(ids.length).all(...ids) as JobRow[]).map(jobFromRow));
    }
    return out;
  };

  const create = db.transaction((job: JobRecord) => {
    insertJob.run(jobParams(job));
    insertVersion.run(versionParams(snapshotOf(job)));
  });
  /**
   * The creates of one event-loop turn in one transaction: its commit (writing every page it
   * changed to the WAL) costs more than the inserts, and concurrent creates share most of those
   * pages. Each create runs in its own savepoint (a nested transaction): one refused (its id
   * taken) is rolled back and fails alone.
   */
  const createMany = db.transaction((batch: JobRecord[]): (CronError | undefined)[] =>
    batch.map((job) => {
      try {
        create(job);
        return undefined;
      } catch (err) {
        return mapSqliteError(err);
      }
    }),
  );
  // Kept listing totals are dropped once the batch is written (`totals` below).
  const batched = createBatcher(async (batch: JobRecord[]) => {
    const refused = createMany(batch);
    totals.jobsChanged();
    return refused;
  });
  /** Creates a job with the others of this turn (see `createMany`); resolves once committed. */
  const createInBatch = async (job: JobRecord): Promise<void> => {
    let refused: CronError | undefined;
    try {
      refused = await batched(job);
    } catch (err) {
      throw mapSqliteError(err);
    }
    if (refused) throw refused;
  };
  const get = (jobId: string, scope?: Scope) => {
    const row = selectJob.get({ jobId, scope: scope ?? null }) as JobRow | undefined;
    return row && jobFromRow(row);
  };
  const update = db.transaction((job: JobRecord, expected: number) => {
    if (casJob.run({ ...jobParams(job), expected }).changes === 0) {
      throw get(job.jobId, job.spec.projectId)
        ? new CronError("version_conflict", `job ${job.jobId} is not at version ${expected}`)
        : CronError.notFound("job", job.jobId);
    }
    insertVersion.run(versionParams(snapshotOf(job)));
    return get(job.jobId)!;
  });
  /**
   * The jobs of these ids, in this order (ids of jobs gone meanwhile are left out). Read here, not
   * on the reader: a page's rows by primary key take microseconds, less than a round trip to it.
   */
  const inOrder = (ids: string[]): JobRecord[] => {
    const byId = new Map(many(ids).map((j) => [j.jobId, j]));
    return ids.map((id) => byId.get(id)).filter((j): j is JobRecord => j !== undefined);
  };
  const idsOf = (rows: unknown[]) => (rows as { job_id: string }[]).map((r) => r.job_id);
  const totals = createListingTotals(db, reader);
  /** The plan `l` of a listing, or a scan of the jobs in id order when its text matches that many of them (see scansText). */
  const textPlan = async (filter: JobFilter, l: ListingQuery, reach: number): Promise<ListingQuery> => {
    if (!searchesText(filter)) return l;
    const jobs = (countJobs.get({ scope: null }) as { n: number }).n;
    return scansText(await totals.count(l.count, l.params), jobs, reach) ? listingQuery(filter, true) : l;
  };
  /** The number of jobs a listing matches: summed here from `job_counts`, else counted on the reader (or kept, see totals). */
  const total = async (l: ListingQuery): Promise<number> =>
    l.summed ? (statement(l.count).get(l.params) as { n: number }).n : totals.count(l.count, l.params);
  /** The job ids of a listing's walk of `reach` entries: read here when short and dense (see walksHere), else on the reader. */
  const walk = async (l: ListingQuery, reach: number, sql: string, params: Record<string, unknown>): Promise<string[]> =>
    idsOf(walksHere(l, reach) ? statement(sql).all(params) : await reader.all(sql, params));
  // Ids first, walking an index in id order (no job row is read for the ones passed): a long walk
  // on the reader, so that one deep into a million jobs holds no slot up. Then the page's jobs.
  const list = async (filter: JobFilter, q: Parameters<Store["listJobs"]>[1]): Promise<Page<JobRecord>> => {
    const l = await textPlan(filter, listingQuery(filter), q.pageSize + 1);
    const sql = `SELECT ${l.id} AS job_id FROM ${l.from} WHERE ${l.where} AND ${l.id} > @after ORDER BY ${l.id} LIMIT @limit`;
    const ids = await walk(l, q.pageSize + 1, sql, { ...l.params, after: q.after ?? "", limit: q.pageSize + 1 });
    return pageOf(inOrder(ids), q.pageSize, (j) => j.jobId);
  };
  const listByPage = async (filter: JobFilter, q: OffsetQuery) => {
    const counted = listingQuery(filter);
    const matched = await total(counted);
    const w = offsetWindow(matched, offsetStart(q), q.limit);
    if (w.take === 0) return { items: [], total: matched };
    const l = await textPlan(filter, counted, w.skip + w.take);
    const sql = `SELECT ${l.id} AS job_id FROM ${l.from} WHERE ${l.where} ORDER BY ${l.id} ${w.descending ? "DESC" : "ASC"} LIMIT @take OFFSET @skip`;
    const ids = await walk(l, w.skip + w.take, sql, { ...l.params, take: w.take, skip: w.skip });
    return { items: inOrder(w.descending ? ids.reverse() : ids), total: matched };
  };
  const versions = (jobId: string, pageSize: number, before?: number, scope?: Scope): JobVersionRecord[] =>
    (selectVersions.all({ jobId, before: before ?? Number.MAX_SAFE_INTEGER, limit: pageSize, scope: scope ?? null }) as { doc: string }[]).map(
      fromDoc<JobVersionRecord>,
    );
  const version = (jobId: string, v: number, scope?: Scope) => {
    const row = selectVersion.get({ jobId, version: v, scope: scope ?? null }) as { doc: string } | undefined;
    return row && fromDoc<JobVersionRecord>(row);
  };
  const advance = db.transaction((advances: JobAdvance[]) =>
    advances.map((a) => (a.status === undefined ? advanceJob : advanceJobStatus).run(advanceParams(a)).changes === 1),
  );
  const remove = db.transaction((jobId: string, scope?: Scope, deletedAt?: number) => {
    if (!get(jobId, scope)) return false;
    db.prepare("DELETE FROM job_versions WHERE job_id = ?").run(jobId);
    const deleted = db.prepare(`DELETE FROM jobs WHERE job_id = @jobId AND ${IN_SCOPE}`).run({ jobId, scope: scope ?? null }).changes === 1;
    if (deleted && deletedAt !== undefined) recordDeletion.run(jobId, deletedAt);
    return deleted;
  });
  /** `write`, after which kept listing totals are dropped (it changed a job). */
  const changing =
    <A extends unknown[], R>(write: (...args: A) => R) =>
    (...args: A): R => {
      const result = write(...args);
      totals.jobsChanged();
      return result;
    };
  return {
    createInBatch,
    get,
    update: changing(update),
    remove: changing(remove),
    deletedJobs: (before: number, limit: number) => selectDeleted.all(before, limit) as DeletedJob[],
    forgetDeletion: (jobId: string, deletedAt: number) => void forgetDeletion.run(jobId, deletedAt),
    list,
    listByPage,
    count: (scope?: Scope) => (countJobs.get({ scope: scope ?? null }) as { n: number }).n,
    versions,
    version,
    due: (before: number, limit: number, scope?: Scope) => (selectDue.all({ before, limit, scope: scope ?? null }) as JobRow[]).map(jobFromRow),
    dueRefs: (before: number, limit: number) => selectDueRefs.all(before, limit) as DueJobRef[],
    many,
    // Only a status set by the scheduler (a one-shot completing) changes what listings count.
    advance: (advances: JobAdvance[]) => (advances.some((a) => a.status !== undefined) ? changing(advance) : advance)(advances),
    recordOutcomes: db.transaction((outcomes: RunOutcome[]) => {
      for (const o of outcomes) {
        if (o.skipped) skippedOutcome.run(o.jobId);
        else outcome.run({ jobId: o.jobId, durationMs: o.durationMs, failed: o.failed ? 1 : 0, status: o.status ?? null });
      }
    }),
  };
}

function advanceParams(a: JobAdvance): Record<string, unknown> {
  return {
    jobId: a.jobId,
    expected: a.expectedNextTriggerAt ?? null,
    next: a.nextTriggerAt ?? null,
    last: a.lastTriggeredAt ?? null,
    skipped: a.skipped ?? 0,
    dropped: a.dropped ?? 0,
    status: a.status ?? null,
  };
}

function pageOf<T>(rows: T[], pageSize: number, key: (item: T) => string): Page<T> {
  if (rows.length <= pageSize) return { items: rows };
  const items = rows.slice(0, pageSize);
  return { items, nextCursor: key(items[items.length - 1]!) };
}

function runStatements(db: Database.Database) {
  const insertRun = db.prepare(`INSERT OR IGNORE INTO runs
      (run_id, job_id, project_id, slot_key, status, run_trigger, scheduled_at, revision, doc, dead_lettered_at, redriven_at)
    VALUES (@run_id, @job_id, @project_id, @slot_key, @status, @run_trigger, @scheduled_at, @revision, @doc, @dead_lettered_at, @redriven_at)`);
  const selectBySlot = db.prepare("SELECT doc FROM runs WHERE job_id = ? AND slot_key = ?");
  const selectRun = db.prepare(`SELECT doc FROM runs WHERE run_id = @runId AND ${IN_SCOPE}`);
  // Final runs never change again, and trimming only ever deletes them.
  const finished = FINAL_RUN_STATUSES.map((s) => `'${s}'`).join(",");
  const casRun = db.prepare(`UPDATE runs SET status=@status, revision=@revision, doc=@doc, dead_lettered_at=@dead_lettered_at
    WHERE run_id=@run_id AND status NOT IN (${finished}) AND (revision=@expected OR @status IN (${finished}))`);
  const queued = db.prepare("SELECT doc FROM runs WHERE job_id = ? AND status = 'queued'");
  const countByStatus = db.prepare(`SELECT COUNT(*) AS n FROM runs WHERE status = @status AND ${IN_SCOPE}`);
  const selectActive = db.prepare("SELECT run_id, job_id, status FROM runs WHERE status IN ('queued', 'running') ORDER BY run_id LIMIT ?");

  const insert = db.transaction((runs: RunRecord[], options: InsertOptions = {}): InsertRunResult[] =>
    runs.map((run) => {
      if (insertRun.run(runParams(run)).changes === 1) return { run, inserted: true };
      if (options.adopt === false) return { run, inserted: false };
      const existing = selectBySlot.get(run.jobId, run.slotKey) as { doc: string } | undefined;
      if (!existing) throw new CronError("already_exists", `run id ${run.runId} is already used`);
      return { run: runFromDoc(existing), inserted: false };
    }),
  );
  const get = (runId: string, scope?: Scope) => {
    const row = selectRun.get({ runId, scope: scope ?? null }) as { doc: string } | undefined;
    return row && runFromDoc(row);
  };
  const updateMany = db.transaction((updates: RunUpdate[]) =>
    updates.map((u) => casRun.run({ ...runParams(u.run), expected: u.expectedRevision }).changes === 1),
  );
  const update = (run: RunRecord, expected: number) => {
    if (casRun.run({ ...runParams(run), expected }).changes === 0) {
      throw get(run.runId) ? new CronError("version_conflict", `run ${run.runId} is not at revision ${expected}`) : CronError.notFound("run", run.runId);
    }
    return run;
  };
  // Listings differ only by which filters are set: a few dozen SQL texts, each prepared once.
  const statement = statementCache(db);
  /** One page of runs matching `where` (bounds included), and the total matching `all` (bounds aside) when asked. */
  const runPage = (q: RunQuery, where: Where, all: Where): Page<RunRecord> => {
    const rows = statement(`SELECT doc, run_id FROM runs WHERE ${where.sql} ORDER BY run_id ${q.oldestFirst ? "ASC" : "DESC"} LIMIT @limit OFFSET @offset`).all(
      {
        ...where.params,
        limit: q.pageSize + 1,
        offset: Math.max(0, q.offset ?? 0),
      },
    ) as { doc: string }[];
    const page = pageOf(rows.map(runFromDoc), q.pageSize, (r) => r.runId);
    if (!q.withTotal) return page;
    return { ...page, total: (statement(`SELECT COUNT(*) AS n FROM runs WHERE ${all.sql}`).get(all.params) as { n: number }).n };
  };
  const list = (q: RunQuery): Page<RunRecord> => runPage(q, runWhere(q), runWhere(q, false));
  const deadLetters = (q: DeadLetterQuery): Page<RunRecord> => runPage(q, deadLetterWhere(q), deadLetterWhere(q, false));
  const purgeStatement = db.prepare(`DELETE FROM runs WHERE run_id IN (
        SELECT run_id FROM runs WHERE job_id = ? AND status IN (${finished})
          AND json_extract(doc, '$.createdAt') < ? ORDER BY run_id LIMIT ?)`);
  const markRedriven = (runId: string, redriveRunId: string, at: number) => markStatement.run({ runId, redriveRunId, at }).changes === 1;
  const cancelQueued = db.transaction((jobId: string, now: number) => {
    const rows = (queued.all(jobId) as { doc: string }[]).map(runFromDoc);
    for (const run of rows) {
      update({ ...run, status: "cancelled", finishedAt: now, updatedAt: now, revision: run.revision + 1 }, run.revision);
    }
    return rows.length;
  });
  // Runs waiting in the dead-letter queue are the queue's to keep: the history limit skips them.
  const notQueuedDead = "NOT (dead_lettered_at IS NOT NULL AND redriven_at IS NULL)";
  const trimStatement = db.prepare(`DELETE FROM runs WHERE run_id IN (
        SELECT run_id FROM runs WHERE job_id = @jobId AND status IN (${finished}) AND ${notQueuedDead} ORDER BY run_id
        LIMIT MAX((SELECT COUNT(*) FROM runs WHERE job_id = @jobId AND ${notQueuedDead}) - @keep, 0))`);
  const markStatement = db.prepare(`UPDATE runs SET redriven_at = @at,
      doc = json_set(doc, '$.redrivenAt', @at, '$.redrivenByRunId', @redriveRunId)
    WHERE run_id = @runId AND dead_lettered_at IS NOT NULL AND redriven_at IS NULL`);
  const expireStatement = db.prepare(`DELETE FROM runs WHERE run_id IN (
        SELECT run_id FROM runs WHERE dead_lettered_at IS NOT NULL AND redriven_at IS NULL AND dead_lettered_at < ? LIMIT ?)`);
  const countDead = db.prepare("SELECT COUNT(*) AS n FROM runs WHERE dead_lettered_at IS NOT NULL AND redriven_at IS NULL");
  const trim = db.transaction((limits: HistoryLimit[]) => limits.reduce((deleted, { jobId, keep }) => deleted + trimStatement.run({ jobId, keep }).changes, 0));
  const toActive = (r: { run_id: string; job_id: string; status: RunStatus }): ActiveRun => ({ runId: r.run_id, jobId: r.job_id, status: r.status });
  const activeOf = inStatements(
    db,
    (ids) => `SELECT run_id, job_id, status FROM runs WHERE status IN ('queued', 'running') AND job_id IN (${ids}) ORDER BY run_id LIMIT ?`,
  );
  // The same condition as the partial index runs_active_job, which serves it with one probe per job.
  const busyOf = inStatements(db, (ids) => `SELECT DISTINCT job_id FROM runs WHERE status IN ('queued', 'running') AND job_id IN (${ids})`);
  const busy = (jobIds: string[]): Set<string> => {
    const out = new Set<string>();
    for (let i = 0; i < jobIds.length; i += IN_CHUNK) {
      const ids = jobIds.slice(i, i + IN_CHUNK);
      for (const row of busyOf(ids.length).all(...ids) as { job_id: string }[]) out.add(row.job_id);
    }
    return out;
  };
  const active = (q: ActiveRunQuery): ActiveRun[] => {
    type Row = { run_id: string; job_id: string; status: RunStatus };
    if (!q.jobIds) return (selectActive.all(q.limit) as Row[]).map(toActive);
    if (q.jobIds.length === 0) return [];
    return (activeOf(q.jobIds.length).all(...q.jobIds, q.limit) as Row[]).map(toActive);
  };
  return {
    insert,
    active,
    busy,
    get,
    update,
    updateMany,
    list,
    count: (status: RunStatus, scope?: Scope) => (countByStatus.get({ status, scope: scope ?? null }) as { n: number }).n,
    deadLetters,
    countDeadLetters: () => (countDead.get() as { n: number }).n,
    markRedriven,
    expireDeadLetters: (before: number, limit: number) => expireStatement.run(before, limit).changes,
    cancelQueued,
    trim,
    purge: (jobId: string, createdBefore: number, limit: number) => purgeStatement.run(jobId, createdBefore, Math.max(0, Math.floor(limit))).changes,
  };
}
