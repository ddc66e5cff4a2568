import type Database from "better-sqlite3";
import type { Reader } from "./reader-thread.js";

/** Totals kept at once (one per filter combination asked since the last job write). */
const MAX_KEPT_TOTALS = 256;

/**
 * Totals of job listings, kept until a job changes. An offset page reports the total of its
 * filter, and a total that is not a sum over `job_counts` (a tag, a text, a creator) counts every
 * matching entry: a tag on a million jobs is a million index entries, for each page of the same
 * listing. Paging through a listing asks the same total again and again while jobs rarely change.
 */
export interface ListingTotals {
  /**
   * The count of `sql` (one row, column `n`) with `params`: the one kept from an earlier call
   * with no job written since, or counted now.
   */
  count(sql: string, params: Record<string, unknown>): Promise<number>;
  /** A job was created, changed or deleted through this connection: drops every kept total. */
  jobsChanged(): void;
}

/**
 * Creates the totals of one connection, counted through `reader`. Writes of other connections to the same file (another
 * process) are seen through SQLite's `data_version`, which changes whenever one of them commits;
 * this connection's own job writes call {@link ListingTotals.jobsChanged}. Run writes commit all
 * the time and leave job totals alone, so they must not be counted as job writes.
 */
export function createListingTotals(db: Database.Database, reader: Reader): ListingTotals {
  const kept = new Map<string, number>();
  const dataVersion = db.prepare("PRAGMA data_version").pluck();
  let version: unknown;
  // Bumped whenever kept totals are dropped: a count begun before is returned, not kept.
  let generation = 0;
  const drop = () => {
    kept.clear();
    generation++;
  };
  return {
    async count(sql, params) {
      const now = dataVersion.get();
      if (now !== version) {
        drop();
        version = now;
      }
      const key = `${sql}\n${JSON.stringify(params)}`;
      const known = kept.get(key);
      if (known !== undefined) return known;
      const since = generation;
      const n = ((await reader.get(sql, params)) as { n: number }).n;
      if (since === generation) {
        if (kept.size >= MAX_KEPT_TOTALS) kept.delete(kept.keys().next().value!);
        kept.set(key, n);
      }
      return n;
    },
    jobsChanged: drop,
  };
}
