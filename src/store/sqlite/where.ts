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

/** Builds the WHERE clause of a run listing. */
export function runWhere(query: RunQuery): Where {
  const parts = ["1=1"];
  const params: Record<string, unknown> = {};
  const add = (column: string, name: keyof RunQuery) => {
    if (query[name] === undefined || query[name] === "") return;
    parts.push(`${column} = @${name}`);
    params[name] = query[name];
  };
  add("job_id", "jobId");
  add("project_id", "projectId");
  add("status", "status");
  if (query.before) {
    parts.push("run_id < @before");
    params.before = query.before;
  }
  return { sql: parts.join(" AND "), params };
}

/** Builds the WHERE clause of a dead-letter listing. */
export function deadLetterWhere(query: DeadLetterQuery): Where {
  const where = runWhere(query);
  const parts = [where.sql, "dead_lettered_at IS NOT NULL"];
  if (!query.includeRedriven) parts.push("redriven_at IS NULL");
  return { sql: parts.join(" AND "), params: where.params };
}
