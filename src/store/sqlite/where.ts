import type { DeadLetterQuery, RunQuery } from "../store.js";

/** A SQL condition with its named parameters. */
export interface Where {
  sql: string;
  params: Record<string, unknown>;
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
