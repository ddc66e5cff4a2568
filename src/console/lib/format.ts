import { timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { ConcurrencyPolicy, JobStatus, MisfirePolicy, RetryOn } from "../../../gen/cronmesh/v1/job_pb.js";
import { RunStatus, RunTrigger } from "../../../gen/cronmesh/v1/run_pb.js";

/** Milliseconds since the epoch of a timestamp; undefined when unset or zero. */
export function msOf(ts: Timestamp | undefined): number | undefined {
  if (!ts) return undefined;
  const ms = timestampMs(ts);
  return ms > 0 ? ms : undefined;
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/**
 * `YYYY-MM-DD HH:mm:ss` of an instant in a time zone (the browser's when none is given); "—" for
 * an unset time. A zone the browser does not know falls back to UTC, labelled.
 */
export function formatTime(ms: number | undefined, timeZone?: string): string {
  if (ms === undefined) return "—";
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = dateTimeFormat(timeZone).formatToParts(ms);
  } catch {
    return `${formatTime(ms, "UTC")} UTC`;
  }
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  const hour = get("hour") === "24" ? "00" : get("hour");
  return `${get("year")}-${get("month")}-${get("day")} ${hour}:${get("minute")}:${get("second")}`;
}

const formats = new Map<string, Intl.DateTimeFormat>();
function dateTimeFormat(timeZone: string | undefined): Intl.DateTimeFormat {
  const key = timeZone ?? "";
  let f = formats.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat("en-CA", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
    });
    formats.set(key, f);
  }
  return f;
}

/** The short weekday of an instant in a time zone ("Mon"); "" when the zone is unknown. */
export function weekday(ms: number, timeZone?: string): string {
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone, weekday: "short" }).format(ms);
  } catch {
    return "";
  }
}

/** A duration for people: `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`; "—" when unknown. */
export function formatDuration(ms: number | bigint | undefined): string {
  if (ms === undefined) return "—";
  const n = Number(ms);
  if (!Number.isFinite(n) || n < 0) return "—";
  if (n < 1000) return `${Math.round(n)} ms`;
  if (n < 60_000) return `${(n / 1000).toFixed(n < 10_000 ? 2 : 1)} s`;
  const s = Math.round(n / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${pad(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${pad(Math.floor((s % 3600) / 60))} min`;
}

/** How far an instant is from now, in words: `in 5 s`, `3 min ago`, `now`; "" when unset. */
export function relativeTime(ms: number | undefined, now: number): string {
  if (ms === undefined) return "";
  const delta = ms - now;
  if (Math.abs(delta) < 1000) return "now";
  return delta > 0 ? `in ${span(delta)}` : `${span(-delta)} ago`;
}

/**
 * How far a due time is from now: as {@link relativeTime} ahead, `overdue 13 s` once past. A next
 * run in the past is a slot not decided yet (under overload the stored next run lags while slots
 * are shed in memory), not one that happened: "13 s ago" read as done.
 */
export function relativeDue(ms: number | undefined, now: number): string {
  if (ms === undefined || ms - now > -1000) return relativeTime(ms, now);
  return `overdue ${span(now - ms)}`;
}

/** A length of time of a second or more, in its largest whole unit: `13 s`, `3 min`, `2 d`. */
function span(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, "d"],
    [3_600_000, "h"],
    [60_000, "min"],
    [1000, "s"],
  ];
  const [size, unit] = units.find(([u]) => ms >= u)!;
  return `${Math.floor(ms / size)} ${unit}`;
}

/** An enum value's name in lower case with spaces: DEAD_LETTERED → "dead lettered". */
function enumLabel(names: Record<number, string>, value: number): string {
  const name = names[value];
  return name ? name.toLowerCase().replace(/_/g, " ") : `unknown (${value})`;
}

// protobuf-es enums are TypeScript enums: their reverse mapping names each value (JobStatus[1] === "ACTIVE").
/** A job status for display ("active", "paused", …). */
export const jobStatusLabel = (s: JobStatus) => enumLabel(JobStatus, s);
/** A run status for display ("succeeded", "dead lettered", …). */
export const runStatusLabel = (s: RunStatus) => enumLabel(RunStatus, s);
/** What created a run ("schedule", "manual", …). */
export const runTriggerLabel = (t: RunTrigger) => enumLabel(RunTrigger, t);
/** A concurrency policy for display. */
export const concurrencyLabel = (p: ConcurrencyPolicy) => enumLabel(ConcurrencyPolicy, p);
/** A misfire policy for display. */
export const misfireLabel = (p: MisfirePolicy) => enumLabel(MisfirePolicy, p);
const RETRY_ON_WORDS: Record<RetryOn, string> = {
  [RetryOn.UNSPECIFIED]: "on transient failures (default)",
  [RetryOn.NONE]: "never",
  [RetryOn.ON_FAILURE]: "on transient failures",
  [RetryOn.ALWAYS]: "on any unsuccessful answer",
};
/** When a job retries, in words ("on transient failures"). */
export const retryOnLabel = (r: RetryOn) => RETRY_ON_WORDS[r] ?? enumLabel(RetryOn, r);

/** Job tags as `key=value` (or `key` when the value is empty), sorted. */
export function tagList(tags: Record<string, string>): string[] {
  return Object.entries(tags)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => (v ? `${k}=${v}` : k));
}
