import { CronError } from "./cron-error.js";
import { topologicalOrder } from "./dag.js";
import {
  DEFAULT_HISTORY_LIMIT,
  firesOnItsOwn,
  type AuthSpec,
  type HttpTargetSpec,
  type JobRecord,
  type JobSpec,
  type RetrySpec,
  type TaskSpec,
} from "./job.js";
import { outboundDenied, type OutboundPolicy } from "./outbound-policy.js";
import { canonicalSchedule, nextFireTimes, validateSchedule, validateTimezone } from "./schedule.js";
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

/**
 * Upper bounds of every field a caller sends, so that no job (or request) can exhaust the service.
 * Each is documented in the README; exceeding one is `InvalidArgument` naming the field.
 */
export const FIELD_LIMITS = {
  /** Characters of a job's name. */
  nameLength: 200,
  /** Characters of a job's description. */
  descriptionLength: 2000,
  /** Tags per job. */
  tags: 64,
  /** Characters of a tag key, and of a tag value. */
  tagLength: 256,
  /** Characters of a cron expression (the longest sensible ones list values: `0 0,5,10,… * * *`). */
  scheduleLength: 256,
  /** Characters of a handler name, a task name, a username. */
  identifierLength: 200,
  /** DAG tasks per job. */
  tasks: 100,
  /** Headers per target. */
  headers: 64,
  /** Characters of a header name. */
  headerNameLength: 256,
  /** Bytes of one header value (common servers refuse header lines beyond 8 KiB). */
  headerValueBytes: 8 * 1024,
  /** Bytes of all of a target's header names and values together. */
  headerBytes: 32 * 1024,
  /** Characters of a target URL. */
  urlLength: 4096,
  /** Bytes of a target's request body. */
  bodyBytes: 256 * 1024,
  /** Bytes of one credential (a token, a password, an API key): room for large JWTs. */
  secretBytes: 16 * 1024,
  /** Accepted status codes listed per target. */
  successCodes: 100,
  /** Attempts of one run. */
  maxAttempts: 20,
  /** Backoffs, timeouts and jitter above a day are configuration mistakes, not intentions. */
  durationMs: 86_400_000,
  /** Catch-up reaches back at most a week. */
  catchupWindowMs: 7 * 86_400_000,
  /** Retry multiplier range. */
  multiplier: { min: 1, max: 10 },
  /** Runs kept per job. */
  historyLimit: 10_000,
  /** Items per page of any listing. */
  pageSize: 1000,
  /** Response excerpts are stored with every attempt: 64 KiB keeps a run record small enough to list. */
  excerptBytes: 64 * 1024,
} as const;
const LIMITS = FIELD_LIMITS;

/** Limits that depend on the deployment (`MIN_SCHEDULE_INTERVAL`, `MAX_JOBS_PER_PROJECT`). */
export interface JobLimits {
  /** A schedule may not fire twice within less than this; 0 turns the check off. */
  minScheduleIntervalMs: number;
  /** Most jobs one project may hold. */
  maxJobsPerProject: number;
}

/** The limits when nothing is configured: one fire a second at most, 10,000 jobs per project. */
export const DEFAULT_JOB_LIMITS: JobLimits = { minScheduleIntervalMs: 1000, maxJobsPerProject: 10_000 };

const METHODS = new Set(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Ids chosen by callers: short, URL-safe, stable. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/**
 * Validates a job spec and fills in defaults for zero values. Throws invalid_argument naming the
 * first offending field (as a snake_case path inside the job, e.g. `target.url`); a target whose
 * host the outbound policy denies as written (an IP literal, a denied name) is one. A job that
 * fires on its own (a schedule or a run_at) needs something to call; a hand-run job (neither) may
 * be built step by step, and is checked when triggered (see {@link checkRunnable}).
 */
export function normalizeSpec(spec: JobSpec, outbound: OutboundPolicy): JobSpec {
  checkIdentity(spec);
  const timezone = spec.timezone || JOB_DEFAULTS.timezone;
  validateTimezone(timezone);
  checkTiming(spec, timezone);
  if (!spec.handler && !spec.target && spec.tasks.length === 0 && firesOnItsOwn(spec)) {
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
  if (spec.description.length > LIMITS.descriptionLength) throw CronError.invalid("description", `longer than ${LIMITS.descriptionLength} characters`);
  if (spec.handler.length > LIMITS.identifierLength) throw CronError.invalid("handler", `longer than ${LIMITS.identifierLength} characters`);
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
  if (hasSchedule && spec.runAt !== undefined) {
    throw CronError.invalid("schedule", "give schedule or run_at, not both (neither: the job runs only when triggered)");
  }
  if (spec.schedule.length > LIMITS.scheduleLength) throw CronError.invalid("schedule", `longer than ${LIMITS.scheduleLength} characters`);
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
  if (ms < MIN_START_DEADLINE_MS)
    throw CronError.invalid("start_deadline", `must be at least ${MIN_START_DEADLINE_MS / 1000}s (slots are a second apart at least)`);
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
  checkHeaders(t.headers, `${field}.headers`);
  if (Buffer.byteLength(t.body) > LIMITS.bodyBytes) throw CronError.invalid(`${field}.body`, `larger than ${LIMITS.bodyBytes / 1024} KiB`);
  checkDuration(t.timeoutMs, `${field}.timeout`, LIMITS.durationMs);
  if (t.successCodes.length > LIMITS.successCodes) throw CronError.invalid(`${field}.success_codes`, `at most ${LIMITS.successCodes} codes`);
  for (const code of t.successCodes) {
    if (!Number.isInteger(code) || code < 100 || code > 599) throw CronError.invalid(`${field}.success_codes`, `invalid status ${code}`);
  }
  const excerpt = t.responseExcerptBytes ?? 0;
  if (!Number.isInteger(excerpt) || excerpt < 0 || excerpt > LIMITS.excerptBytes) {
    throw CronError.invalid(`${field}.response_excerpt_bytes`, `must be between 0 (the server's default) and ${LIMITS.excerptBytes}`);
  }
  const { responseExcerptBytes: _excerpt, ...rest } = t;
  return {
    ...rest,
    method,
    timeoutMs: t.timeoutMs || JOB_DEFAULTS.timeoutMs,
    auth: t.auth && normalizeAuth(t.auth, `${field}.auth`),
    ...(excerpt ? { responseExcerptBytes: excerpt } : {}),
  };
}

/** Header names and values within bounds. Values are not quoted in errors: some are credentials. */
function checkHeaders(headers: Record<string, string>, field: string): void {
  const entries = Object.entries(headers);
  if (entries.length > LIMITS.headers) throw CronError.invalid(field, `at most ${LIMITS.headers} headers`);
  let total = 0;
  for (const [name, value] of entries) {
    if (name.length > LIMITS.headerNameLength) throw CronError.invalid(field, `a header name is longer than ${LIMITS.headerNameLength} characters`);
    if (!HEADER_NAME.test(name)) throw CronError.invalid(field, `invalid header name ${JSON.stringify(name)}`);
    const bytes = Buffer.byteLength(value);
    if (bytes > LIMITS.headerValueBytes) throw CronError.invalid(`${field}.${name}`, `larger than ${LIMITS.headerValueBytes / 1024} KiB`);
    total += name.length + bytes;
  }
  if (total > LIMITS.headerBytes) throw CronError.invalid(field, `larger than ${LIMITS.headerBytes / 1024} KiB in all`);
}

/**
 * An absolute http(s) URL within bounds. The URL is not quoted in errors, and may not carry user
 * info: credentials belong in `auth`, where they are sealed at rest and redacted in responses.
 */
function checkUrl(url: string, field: string, outbound: OutboundPolicy): void {
  if (url.length > LIMITS.urlLength) throw CronError.invalid(field, `longer than ${LIMITS.urlLength} characters`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw CronError.invalid(field, url ? "is not a valid absolute URL" : "is required");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw CronError.invalid(field, "must be http or https");
  if (parsed.username || parsed.password) throw CronError.invalid(field, "must not hold credentials (user:password@): put them in auth");
  if (outbound.hostDenied(parsed.hostname)) throw CronError.invalid(field, outboundDenied(parsed.hostname));
}

function normalizeAuth(auth: AuthSpec, field: string): AuthSpec {
  const need = (value: string, name: string, max: number = LIMITS.secretBytes) => {
    if (!value) throw CronError.invalid(`${field}.${auth.kind}.${name}`, "is required");
    if (Buffer.byteLength(value) > max) throw CronError.invalid(`${field}.${auth.kind}.${name}`, `larger than ${max} bytes`);
  };
  switch (auth.kind) {
    case "basic":
      need(auth.username, "username", LIMITS.identifierLength);
      if (Buffer.byteLength(auth.password) > LIMITS.secretBytes) throw CronError.invalid(`${field}.basic.password`, `larger than ${LIMITS.secretBytes} bytes`);
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
  if (name.length > LIMITS.headerNameLength || !HEADER_NAME.test(name)) throw CronError.invalid(field, `invalid header name ${JSON.stringify(name)}`);
  return name;
}

function normalizeRetry(r: RetrySpec): RetrySpec {
  const d = JOB_DEFAULTS.retry;
  if (r.maxAttempts < 0 || r.maxAttempts > LIMITS.maxAttempts) {
    throw CronError.invalid("retry.max_attempts", `must be between 1 and ${LIMITS.maxAttempts}`);
  }
  checkDuration(r.initialBackoffMs, "retry.initial_backoff", LIMITS.durationMs);
  checkDuration(r.maxBackoffMs, "retry.max_backoff", LIMITS.durationMs);
  const { min, max } = LIMITS.multiplier;
  if (!Number.isFinite(r.multiplier) || (r.multiplier !== 0 && (r.multiplier < min || r.multiplier > max))) {
    throw CronError.invalid("retry.multiplier", `must be between ${min} and ${max}`);
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

/**
 * Validates DAG tasks (ids, targets, dependencies, no cycle); returns them in their given order. A
 * task may lack a target and a handler while its job is being built (see {@link checkRunnable}).
 */
export function normalizeTasks(tasks: TaskSpec[], outbound: OutboundPolicy): TaskSpec[] {
  if (tasks.length > LIMITS.tasks) throw CronError.invalid("tasks", `at most ${LIMITS.tasks} tasks`);
  const out = tasks.map((t, i) => {
    const field = `tasks[${i}]`;
    if (!ID_PATTERN.test(t.taskId)) throw CronError.invalid(`${field}.task_id`, "is required and must match " + ID_PATTERN);
    if (t.name.length > LIMITS.identifierLength) throw CronError.invalid(`${field}.name`, `longer than ${LIMITS.identifierLength} characters`);
    if (t.handler.length > LIMITS.identifierLength) throw CronError.invalid(`${field}.handler`, `longer than ${LIMITS.identifierLength} characters`);
    if (t.dependsOn.length > LIMITS.tasks) throw CronError.invalid(`${field}.depends_on`, `at most ${LIMITS.tasks} dependencies`);
    return { ...t, name: t.name || t.taskId, target: t.target && normalizeTarget(t.target, `${field}.target`, outbound) };
  });
  topologicalOrder(out, "tasks");
  return out;
}

/**
 * Fire times sampled to find a schedule's shortest interval. Intervals below a minute come from
 * the seconds field and repeat in every minute that fires; 1,000 fires span at least 16 minutes,
 * so consecutive firing minutes (59 → 0 seconds) are seen too.
 */
const INTERVAL_SAMPLE = 1000;
/** A fixed anchor: every replica and every call find the same interval for the same schedule. */
const INTERVAL_ANCHOR_MS = Date.UTC(2025, 0, 1);
/** Cron's finest unit is the second; a 5-field expression or a macro fires at most once a minute. */
const SECOND_MS = 1000;
const MINUTE_MS = 60_000;

/**
 * Throws invalid_argument on `schedule` when a valid cron schedule fires twice within less than
 * `minIntervalMs` (`MIN_SCHEDULE_INTERVAL`). One-shot jobs always pass. Pure: the interval is
 * measured from a fixed anchor, and only computed when the expression could be that frequent.
 */
export function checkScheduleInterval(spec: JobSpec, minIntervalMs: number): void {
  if (!spec.schedule || minIntervalMs <= SECOND_MS) return;
  const hasSeconds = !spec.schedule.startsWith("@") && spec.schedule.trim().split(/\s+/).length === 6;
  if (!hasSeconds && minIntervalMs <= MINUTE_MS) return;
  const times = nextFireTimes(spec.schedule, spec.timezone || JOB_DEFAULTS.timezone, INTERVAL_ANCHOR_MS, INTERVAL_SAMPLE);
  for (let i = 1; i < times.length; i++) {
    const gap = times[i]! - times[i - 1]!;
    if (gap < minIntervalMs) {
      throw CronError.invalid("schedule", `fires every ${gap / 1000}s at times; the minimum interval is ${minIntervalMs / 1000}s (MIN_SCHEDULE_INTERVAL)`);
    }
  }
}

/**
 * Refuses (failed_precondition, naming the field) to run a job that has nothing to call: no
 * target, handler or tasks, or a task with neither a target nor a handler.
 */
export function checkRunnable(job: Pick<JobRecord, "jobId" | "spec">): void {
  const { spec } = job;
  if (spec.tasks.length === 0 && !spec.target && !spec.handler) {
    throw new CronError("failed_precondition", `job ${job.jobId} has nothing to run yet: give it a target, a handler or tasks`, "target");
  }
  const i = spec.tasks.findIndex((t) => !t.target && !t.handler);
  if (i >= 0) {
    throw new CronError(
      "failed_precondition",
      `task ${JSON.stringify(spec.tasks[i]!.taskId)} has neither a target nor a handler: add one before running the job`,
      `tasks[${i}].target`,
    );
  }
}
