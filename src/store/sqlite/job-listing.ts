import { hasFilter, parseTagFilter } from "../job-filter.js";
import type { JobFilter } from "../store.js";

/**
 * Text filters this long or longer are found through the trigram index (`job_text`); shorter
 * ones have no trigram to look up, and are matched by reading every job's name and description.
 */
export const MIN_INDEXED_TEXT = 3;

/**
 * A job listing as SQL over the listing tables (see `LISTING_SCHEMA`): where the ids of
 * matching jobs come from, walkable in id order by an index, and the conditions on them. Joined
 * to `jobs j` only when a condition needs a column of the job itself.
 */
export interface ListingQuery {
  /** The FROM clause. */
  from: string;
  /** The job id column of `from`, in whose order its index walks. */
  id: string;
  /** Conditions, joined by AND (never empty). */
  where: string;
  params: Record<string, unknown>;
  /**
   * SQL of the number of matching jobs: a sum over `job_counts` when only the project and the
   * status are filtered (no row is counted), else a count over the same source.
   */
  count: string;
  /** Whether `count` is that sum over `job_counts`: a few rows, whatever the number of jobs. */
  summed: boolean;
  /**
   * Whether every entry the walk passes matches: an index holds exactly the matching jobs in id
   * order (by project, status, creator, or one tag), so a page reaching `n` jobs reads `n` entries.
   */
  dense: boolean;
}

/**
 * Most entries a dense walk reads on the node's own thread (about 0.3 µs each): beyond, and for
 * any walk that is not dense, the listing reads on the reader thread. A round trip to that
 * thread costs 100–300 µs of CPU on this 2-core VM (waking a thread is a hypervisor call), about
 * what 1,000 entries cost; a walk that may read a million entries must not hold a slot up.
 */
export const IN_PROCESS_REACH = 1000;

/** Where a listing's walk of `reach` entries (those skipped and taken) reads: here, or on the reader thread. */
export function walksHere(l: Pick<ListingQuery, "dense">, reach: number): boolean {
  return l.dense && reach <= IN_PROCESS_REACH;
}

/**
 * How much more reading one job's name and description in id order costs than gathering one
 * match of a text from the trigram index (about a microsecond against half of one).
 */
export const SCAN_COST_RATIO = 2;

/**
 * Whether a text listing should read the jobs in id order and match the text in each ("scan")
 * rather than gather every match from the trigram index first: when the text matches so many
 * jobs that the ones the page reaches (`reach`: those skipped and taken) come sooner by reading
 * about `reach × jobs / matches` jobs than by gathering all `matches`. The first page of a text
 * found in most of a million jobs then reads a few dozen jobs instead of gathering a million
 * matches; a rare text, or a page deep into a common one, still gathers.
 */
export function scansText(matches: number, jobs: number, reach: number): boolean {
  return matches > 0 && matches * matches >= SCAN_COST_RATIO * jobs * Math.max(1, reach);
}

/**
 * Whether a text is looked up in the trigram index: long enough to hold a trigram, and without
 * NUL (FTS5's query syntax ends a string there: "unterminated string"). Any other text is
 * matched by reading each job's name and description.
 */
function indexable(text: string): boolean {
  return !text.includes("\u0000") && [...text].length >= MIN_INDEXED_TEXT;
}

/** Whether the listing of `filter` is driven by the trigram index: an indexable text, and no tag (a tag drives it first). */
export function searchesText(filter: JobFilter): boolean {
  return hasFilter(filter, "text") && indexable(filter.text!) && !hasFilter(filter, "tag");
}

/**
 * Plans a listing by its most selective indexed filter: a tag (walks `job_tags` for its entry),
 * else a text of {@link MIN_INDEXED_TEXT} characters or more (the trigram index's matches,
 * unless `scan`: see {@link scansText}), else the jobs themselves (by project, status or creator,
 * each indexed in job-id order).
 */
export function listingQuery(filter: JobFilter, scan = false): ListingQuery {
  const params: Record<string, unknown> = {};
  const onJob: string[] = [];
  if (hasFilter(filter, "projectId")) onJob.push("j.project_id = @projectId");
  if (hasFilter(filter, "status")) onJob.push("j.status = @status");
  if (hasFilter(filter, "owner")) onJob.push("json_extract(j.doc, '$.createdBy') = @owner");
  for (const key of ["projectId", "status", "owner"] as const) if (hasFilter(filter, key)) params[key] = filter[key];
  const text = hasFilter(filter, "text") ? filter.text! : undefined;
  const indexedText = text !== undefined && !scan && indexable(text);
  if (text !== undefined && !indexedText) {
    onJob.push("(instr(lower(j.name), @text) > 0 OR instr(lower(j.description), @text) > 0)");
    params.text = text.toLowerCase();
  }
  if (indexedText) params.fts = ftsPhrase(text!);
  const matchingText = "SELECT rowid FROM job_text WHERE job_text MATCH @fts";
  if (hasFilter(filter, "tag")) {
    params.tagEntry = tagEntry(filter.tag!);
    const onTag = ["t.entry = @tagEntry"];
    if (indexedText) onTag.push(`t.job_id IN (SELECT k.job_id FROM job_text_keys k WHERE k.text_rowid IN (${matchingText}))`);
    const tagged = planned(onJob.length ? "job_tags t JOIN jobs j ON j.job_id = t.job_id" : "job_tags t", "t.job_id", [...onTag, ...onJob], params);
    return { ...tagged, dense: onTag.length === 1 && onJob.length === 0 };
  }
  if (indexedText) {
    const onKey = [`k.text_rowid IN (${matchingText})`];
    const listed = planned(onJob.length ? "job_text_keys k JOIN jobs j ON j.job_id = k.job_id" : "job_text_keys k", "k.job_id", [...onKey, ...onJob], params);
    // Every job has exactly one row in the index: a text alone counts its matches there.
    return onJob.length ? listed : { ...listed, count: "SELECT COUNT(*) AS n FROM job_text WHERE job_text MATCH @fts" };
  }
  // Project, status and creator are indexed in job-id order, alone and project with status; a
  // creator with another filter, or a text read in each job, is not.
  const listed = { ...planned("jobs j", "j.job_id", onJob, params), dense: text === undefined && (!hasFilter(filter, "owner") || onJob.length === 1) };
  const countedOnly = !hasFilter(filter, "owner") && text === undefined;
  return countedOnly ? { ...listed, count: countsSum(filter), summed: true } : listed;
}

function planned(from: string, id: string, conditions: string[], params: Record<string, unknown>): ListingQuery {
  const where = conditions.length ? conditions.join(" AND ") : "1=1";
  return { from, id, where, params, count: `SELECT COUNT(*) AS n FROM ${from} WHERE ${where}`, summed: false, dense: false };
}

function countsSum(filter: JobFilter): string {
  const on = ["1=1"];
  if (hasFilter(filter, "projectId")) on.push("project_id = @projectId");
  if (hasFilter(filter, "status")) on.push("status = @status");
  return `SELECT COALESCE(SUM(n), 0) AS n FROM job_counts WHERE ${on.join(" AND ")}`;
}

/** The `job_tags` entry of a tag filter: `t:key=value`, or `k:key` for any value. */
function tagEntry(tag: string): string {
  const { key, value } = parseTagFilter(tag);
  return value === undefined ? `k:${key}` : `t:${key}=${value}`;
}

/** A text as one FTS5 phrase: a literal substring, whatever characters it holds. */
function ftsPhrase(text: string): string {
  return `"${text.replaceAll('"', '""')}"`;
}
