import { CronError } from "../domain/cron-error.js";
import type { JobFilter } from "./store.js";

/** A parsed tag filter: a key, and the value it must have when one was given. */
export interface TagMatch {
  key: string;
  value?: string;
}

/** Splits a `key=value` or bare `key` tag filter. Throws invalid_argument for an empty key. */
export function parseTagFilter(tag: string): TagMatch {
  const eq = tag.indexOf("=");
  const key = (eq < 0 ? tag : tag.slice(0, eq)).trim();
  if (!key) throw CronError.invalid("tag", "expected key or key=value");
  return eq < 0 ? { key } : { key, value: tag.slice(eq + 1) };
}

/** True when a filter field is set to a non-empty value. */
export function hasFilter(filter: JobFilter, field: keyof JobFilter): boolean {
  const value = filter[field];
  return value !== undefined && value !== "";
}
