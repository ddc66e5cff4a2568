import type { DeadLetterQuery, JobFilter, RunQuery } from "../store.js";
import { hasFilter, parseTagFilter } from "../job-filter.js";

/** A SQL condition with its named parameters. */
export interface Where {
  sql: string;
  params: Record<string, unknown>;
}

/** Builds the WHERE clause of a job listing (never empty: `1=1` when unfiltered). */
export function jobWhere(filter: JobFilter): Where {
  const parts = ["1=1"];
  const params: Record<string, unknown> = {};
  if (hasFilter(filter, "projectId")) {
    parts.push("project_id = @projectId");
    params.projectId = filter.projectId;
  }
  if (hasFilter(filter, "status")) {
    parts.push("status = @status");
    params.status = filter.status;
  }
  if (hasFilter(filter, "owner")) {
    parts.push("json_extract(doc, '$.createdBy') = @owner");
    params.owner = filter.owner;
  }
  if (filter.tag) addTag(filter.tag, parts, params);
  if (hasFilter(filter, "text")) {
    parts.push("(instr(lower(name), @text) > 0 OR instr(lower(description), @text) > 0)");
    params.text = filter.text!.toLowerCase();
  }
  return { sql: parts.join(" AND "), params };
}

function addTag(tag: string, parts: string[], params: Record<string, unknown>): void {
  const { key, value } = parseTagFilter(tag);
  params.tagKey = key;
  if (value === undefined) {
    parts.push("EXISTS (SELECT 1 FROM json_each(jobs.tags) t WHERE t.key = @tagKey)");
  } else {
    parts.push("EXISTS (SELECT 1 FROM json_each(jobs.tags) t WHERE t.key = @tagKey AND t.value = @tagValue)");
    params.tagValue = value;
  }
}

/**
 * Builds the WHERE clause of a run listing: its filters, and its page bounds (the cursor) unless
 * `bounds` is false (counting every match).
 */
export function runWhere(query: Omit<RunQuery, "pageSize">, bounds = true): Where {
  const parts = ["1=1"];
  const params: Record<string, unknown> = {};
  const add = (condition: string, name: keyof Omit<RunQuery, "pageSize">) => {
    if (query[name] === undefined || query[name] === "") return;
    parts.push(condition.replace("?", `@${name}`));
    params[name] = query[name];
  };
  add("job_id = ?", "jobId");
  add("project_id = ?", "projectId");
  add("status = ?", "status");
  add("run_trigger = ?", "trigger");
  add("scheduled_at >= ?", "scheduledFrom");
  add("scheduled_at < ?", "scheduledTo");
  if (bounds) {
    add("run_id < ?", "before");
    add("run_id > ?", "after");
  }
  return { sql: parts.join(" AND "), params };
}

/** Builds the WHERE clause of a dead-letter listing (see {@link runWhere}). */
export function deadLetterWhere(query: Omit<DeadLetterQuery, "pageSize">, bounds = true): Where {
  const where = runWhere(query, bounds);
  const parts = [where.sql, "dead_lettered_at IS NOT NULL"];
  if (!query.includeRedriven) parts.push("redriven_at IS NULL");
  return { sql: parts.join(" AND "), params: where.params };
}
