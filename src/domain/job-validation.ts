import { CronError } from "./cron-error.js";
import { topologicalOrder } from "./dag.js";
import { DEFAULT_HISTORY_LIMIT, type AuthSpec, type HttpTargetSpec, type JobSpec, type RetrySpec, type TaskSpec } from "./job.js";
import { outboundDenied, type OutboundPolicy } from "./outbound-policy.js";
import { canonicalSchedule, validateSchedule, validateTimezone } from "./schedule.js";
import { MIN_START_DEADLINE_MS } from "./start-deadline.js";

/** Defaults applied to zero values; each is documented in the README. */
export const JOB_DEFAULTS = {
  projectId: "default",
  timezone: "UTC",
  /** A slot missed by more than an hour is rarely still wanted. */
  catchupWindowMs: 3_600_000,
  timeoutMs: 30_000,
  method: "POST",
  retry: { maxAttempts: 1, initialBackoffMs: 1000, maxBackoffMs: 60_000, multiplier: 2, retryOn: "on_failure" } as RetrySpec,
} as const;

/** Upper bounds that keep one job from exhausting the service. */
const LIMITS = {
  nameLength: 200,
  descriptionLength: 2000,
  tags: 64,
  tagLength: 256,
  tasks: 100,
  maxAttempts: 20,
  /** Backoffs and timeouts above a day are configuration mistakes, not intentions. */
  durationMs: 86_400_000,
  /** Catch-up reaches back at most a week. */
  catchupWindowMs: 7 * 86_400_000,
  historyLimit: 10_000,
  bodyBytes: 256 * 1024,
} as const;

const METHODS = new Set(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Ids chosen by callers: short, URL-safe, stable. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/**
 * Validates a job spec and fills in defaults for zero values. Throws invalid_argument naming the
 * first offending field (as a snake_case path inside the job, e.g. `target.url`); a target whose
 * host the outbound policy denies as written (an IP literal, a denied name) is one.
 */
export function normalizeSpec(spec: JobSpec, outbound: OutboundPolicy): JobSpec {
  checkIdentity(spec);
  const timezone = spec.timezone || JOB_DEFAULTS.timezone;
  validateTimezone(timezone);
  checkTiming(spec, timezone);
  if (!spec.handler && !spec.target && spec.tasks.length === 0) {
    throw CronError.invalid("target", "one of target, handler or tasks is required");
  }
  return {
    ...spec,
    projectId: spec.projectId || JOB_DEFAULTS.projectId,
    timezone,
    schedule: canonicalSchedule(spec.schedule),
    catchupWindowMs: spec.catchupWindowMs || JOB_DEFAULTS.catchupWindowMs,
    startDeadlineMs: spec.startDeadlineMs || undefined,
    target: spec.target && normalizeTarget(spec.target, "target", outbound),
    retry: normalizeRetry(spec.retry),
    tasks: normalizeTasks(spec.tasks, outbound),
    historyLimit: spec.historyLimit || DEFAULT_HISTORY_LIMIT,
  };
}

function checkIdentity(spec: JobSpec): void {
  if (!spec.name.trim()) throw CronError.invalid("name", "is required");
  if (spec.name.length > LIMITS.nameLength) throw CronError.invalid("name", `longer than ${LIMITS.nameLength} characters`);
  if (spec.description.length > LIMITS.descriptionLength) throw CronError.invalid("description", "too long");
  if (spec.projectId && !ID_PATTERN.test(spec.projectId)) throw CronError.invalid("project_id", "must match " + ID_PATTERN);
  const tags = Object.entries(spec.tags);
  if (tags.length > LIMITS.tags) throw CronError.invalid("tags", `at most ${LIMITS.tags} tags`);
  for (const [k, v] of tags) {
    if (!k || k.includes("=") || k.length > LIMITS.tagLength || v.length > LIMITS.tagLength) {
      throw CronError.invalid("tags", `invalid tag ${JSON.stringify(k)}: keys are non-empty, without '=', at most ${LIMITS.tagLength} characters`);
    }
  }
}

function checkTiming(spec: JobSpec, timezone: string): void {
  const hasSchedule = spec.schedule.trim() !== "";
  if (hasSchedule === (spec.runAt !== undefined)) {
    throw CronError.invalid("schedule", "exactly one of schedule and run_at is required");
  }
  if (hasSchedule) validateSchedule(spec.schedule, timezone);
  if (spec.startAt !== undefined && spec.endAt !== undefined && spec.endAt <= spec.startAt) {
    throw CronError.invalid("end_at", "must be after start_at");
  }
  // A one-shot's only slot must lie in its window: outside it, it could never fire.
  if (spec.runAt !== undefined && spec.startAt !== undefined && spec.runAt < spec.startAt) {
    throw CronError.invalid("run_at", "is before start_at: the job would never fire");
  }
  if (spec.runAt !== undefined && spec.endAt !== undefined && spec.runAt > spec.endAt) {
    throw CronError.invalid("run_at", "is after end_at: the job would never fire");
  }
  checkDuration(spec.catchupWindowMs, "catchup_window", LIMITS.catchupWindowMs);
  checkStartDeadline(spec.startDeadlineMs);
  checkDuration(spec.maxJitterMs, "max_jitter", LIMITS.durationMs);
  if (spec.historyLimit < 0 || spec.historyLimit > LIMITS.historyLimit) {
    throw CronError.invalid("history_limit", `must be between 0 and ${LIMITS.historyLimit}`);
  }
}

/** An explicit start deadline lies in [1 s, the longest catch-up window]; 0 or absent means the default. */
function checkStartDeadline(ms: number | undefined): void {
  if (!ms) return;
  checkDuration(ms, "start_deadline", LIMITS.catchupWindowMs);
  if (ms < MIN_START_DEADLINE_MS) throw CronError.invalid("start_deadline", `must be at least ${MIN_START_DEADLINE_MS / 1000}s (slots are a second apart at least)`);
}

function checkDuration(ms: number, field: string, max: number): void {
  if (!Number.isFinite(ms) || ms < 0) throw CronError.invalid(field, "must not be negative");
  if (ms > max) throw CronError.invalid(field, `must be at most ${max / 1000}s`);
}

/**
 * Validates one HTTP target and fills its defaults; errors name fields under `field`. A URL whose
 * host `outbound` denies as written is refused (a name that resolves into a denied range is
 * refused when called).
 */
export function normalizeTarget(t: HttpTargetSpec, field: string, outbound: OutboundPolicy): HttpTargetSpec {
  checkUrl(t.url, `${field}.url`, outbound);
  const method = (t.method || JOB_DEFAULTS.method).toUpperCase();
  if (!METHODS.has(method)) throw CronError.invalid(`${field}.method`, `unsupported method ${JSON.stringify(t.method)}`);
  for (const name of Object.keys(t.headers)) {
    if (!HEADER_NAME.test(name)) throw CronError.invalid(`${field}.headers`, `invalid header name ${JSON.stringify(name)}`);
  }
  if (Buffer.byteLength(t.body) > LIMITS.bodyBytes) throw CronError.invalid(`${field}.body`, "larger than 256 KiB");
  checkDuration(t.timeoutMs, `${field}.timeout`, LIMITS.durationMs);
  for (const code of t.successCodes) {
    if (!Number.isInteger(code) || code < 100 || code > 599) throw CronError.invalid(`${field}.success_codes`, `invalid status ${code}`);
  }
  return { ...t, method, timeoutMs: t.timeoutMs || JOB_DEFAULTS.timeoutMs, auth: t.auth && normalizeAuth(t.auth, `${field}.auth`) };
}

function checkUrl(url: string, field: string, outbound: OutboundPolicy): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw CronError.invalid(field, url ? `invalid URL ${JSON.stringify(url)}` : "is required");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw CronError.invalid(field, "must be http or https");
  if (outbound.hostDenied(parsed.hostname)) throw CronError.invalid(field, outboundDenied(parsed.hostname));
}

function normalizeAuth(auth: AuthSpec, field: string): AuthSpec {
  const need = (value: string, name: string) => {
    if (!value) throw CronError.invalid(`${field}.${auth.kind}.${name}`, "is required");
  };
  switch (auth.kind) {
    case "basic":
      need(auth.username, "username");
      return auth;
    case "bearer":
      need(auth.token, "token");
      return auth;
    case "api_key":
      need(auth.key, "key");
      return { ...auth, header: checkHeader(auth.header || "X-API-Key", `${field}.api_key.header`) };
    case "service_token":
      need(auth.token, "token");
      return { ...auth, header: checkHeader(auth.header || "X-Service-Token", `${field}.service_token.header`) };
  }
}

function checkHeader(name: string, field: string): string {
  if (!HEADER_NAME.test(name)) throw CronError.invalid(field, `invalid header name ${JSON.stringify(name)}`);
  return name;
}

function normalizeRetry(r: RetrySpec): RetrySpec {
  const d = JOB_DEFAULTS.retry;
  if (r.maxAttempts < 0 || r.maxAttempts > LIMITS.maxAttempts) {
    throw CronError.invalid("retry.max_attempts", `must be between 1 and ${LIMITS.maxAttempts}`);
  }
  checkDuration(r.initialBackoffMs, "retry.initial_backoff", LIMITS.durationMs);
  checkDuration(r.maxBackoffMs, "retry.max_backoff", LIMITS.durationMs);
  if (!Number.isFinite(r.multiplier) || (r.multiplier !== 0 && (r.multiplier < 1 || r.multiplier > 10))) {
    throw CronError.invalid("retry.multiplier", "must be between 1 and 10");
  }
  const out: RetrySpec = {
    maxAttempts: r.maxAttempts || d.maxAttempts,
    initialBackoffMs: r.initialBackoffMs || d.initialBackoffMs,
    maxBackoffMs: r.maxBackoffMs || d.maxBackoffMs,
    multiplier: r.multiplier || d.multiplier,
    retryOn: r.retryOn,
  };
  if (out.maxBackoffMs < out.initialBackoffMs) throw CronError.invalid("retry.max_backoff", "must not be below initial_backoff");
  return out;
}

/** Validates DAG tasks (ids, targets, dependencies, no cycle); returns them in their given order. */
export function normalizeTasks(tasks: TaskSpec[], outbound: OutboundPolicy): TaskSpec[] {
  if (tasks.length > LIMITS.tasks) throw CronError.invalid("tasks", `at most ${LIMITS.tasks} tasks`);
  const out = tasks.map((t, i) => {
    const field = `tasks[${i}]`;
    if (!ID_PATTERN.test(t.taskId)) throw CronError.invalid(`${field}.task_id`, "is required and must match " + ID_PATTERN);
    if (!t.target && !t.handler) throw CronError.invalid(`${field}.target`, "one of target or handler is required");
    return { ...t, name: t.name || t.taskId, target: t.target && normalizeTarget(t.target, `${field}.target`, outbound) };
  });
  topologicalOrder(out, "tasks");
  return out;
}
