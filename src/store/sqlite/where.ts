import type { DeadLetterQuery, RunQuery } from "../store.js";

/** A SQL condition with its named parameters. */
export interface Where {
  sql: string;
  params: Record<string, unknown>;
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
