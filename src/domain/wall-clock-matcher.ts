/**
 * A fast walk over the wall clock for plain cron expressions.
 *
 * cron-parser parses every expression, but its iterator builds date objects at every step and
 * dominates the cost of `nextFireTimes` on the scheduler's hot path. For expressions made of
 * values, lists, ranges and steps (no `L` or `#`), the allowed values it parsed are walked
 * here with plain integer arithmetic on a wall clock read as UTC, with cron-parser's own day rule.
 * Anything else returns no matcher and the caller walks with cron-parser.
 */
import type { CronFieldCollection } from "cron-parser";
import { CronError } from "./cron-error.js";

/** Matching wall-clock times (a wall clock read as UTC, epoch ms on whole seconds). */
export interface WallClockMatcher {
  /** The first matching time at or after `wall`. */
  firstAtOrAfter(wall: number): number;
  /** The last matching time strictly before `wall`. */
  lastBefore(wall: number): number;
}

const SECOND_MS = 1000;
const DAY_MS = 86_400_000;
const SECONDS_PER_HOUR = 3600;
const SECONDS_PER_MINUTE = 60;
const LAST_SECOND_OF_DAY = 86_399;
/** The Gregorian calendar repeats every 400 years (146,097 days): no match in them means none ever. */
const SEARCH_DAYS = 146_097;

type Direction = 1 | -1;

/** Allowed values, each list in walking order for both directions. */
interface Compiled {
  seconds: Record<Direction, number[]>;
  minutes: Record<Direction, number[]>;
  hours: Record<Direction, number[]>;
  months: Set<number>;
  days: Set<number>;
  weekdays: Set<number>;
  /** cron-parser's rule: when both day fields are restricted, either may match; otherwise both must. */
  eitherDay: boolean;
}

/** A matcher for a parsed expression, or undefined when it uses `L` or `#`. */
export function compileMatcher(fields: CronFieldCollection): WallClockMatcher | undefined {
  const { dayOfMonth, dayOfWeek } = fields;
  const special = dayOfMonth.hasLastChar || dayOfWeek.hasLastChar || dayOfWeek.nthDay > 0;
  const all = [fields.second, fields.minute, fields.hour, fields.month, dayOfMonth, dayOfWeek];
  if (special || !all.every((f) => f.values.every((v) => typeof v === "number"))) return undefined;
  const numbers = (f: { values: readonly (number | string)[] }) => f.values as number[];
  const c: Compiled = {
    seconds: bothWays(numbers(fields.second)),
    minutes: bothWays(numbers(fields.minute)),
    hours: bothWays(numbers(fields.hour)),
    months: new Set(numbers(fields.month)),
    days: new Set(numbers(dayOfMonth)),
    // Sunday may be written 7; the calendar calls it 0.
    weekdays: new Set(numbers(dayOfWeek).map((d) => d % 7)),
    eitherDay: !dayOfMonth.isWildcard && !dayOfWeek.isWildcard,
  };
  return {
    firstAtOrAfter: (wall) => search(c, Math.ceil(wall / SECOND_MS) * SECOND_MS, 1),
    lastBefore: (wall) => search(c, Math.ceil(wall / SECOND_MS) * SECOND_MS - SECOND_MS, -1),
  };
}

function bothWays(values: number[]): Record<Direction, number[]> {
  const up = [...values].sort((a, b) => a - b);
  return { 1: up, [-1]: [...up].reverse() };
}

/**
 * The nearest match at or beyond `from` (whole seconds) in `dir`, walking day by day through the
 * allowed months and jumping over the others whole (a date-specific schedule, next due a year
 * away, looks at a dozen months instead of 365 days).
 */
function search(c: Compiled, from: number, dir: Direction): number {
  let day = Math.floor(from / DAY_MS);
  let second = (from - day * DAY_MS) / SECOND_MS;
  for (let scanned = 0; scanned < SEARCH_DAYS;) {
    const date = new Date(day * DAY_MS);
    const skipTo = c.months.has(date.getUTCMonth() + 1) ? undefined : monthEdge(date, dir);
    const found = skipTo === undefined && matchesDay(c, date) ? timeOfDay(c, second, dir) : undefined;
    if (found !== undefined) return day * DAY_MS + found * SECOND_MS;
    const next = skipTo ?? day + dir;
    scanned += Math.abs(next - day);
    day = next;
    second = dir === 1 ? 0 : LAST_SECOND_OF_DAY;
  }
  throw CronError.invalid("schedule", "the expression matches no date");
}

/** The first day of the next month (forwards) or the last day of the previous one (backwards). */
function monthEdge(date: Date, dir: Direction): number {
  const firstOfNext = Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + (dir === 1 ? 1 : 0), 1) / DAY_MS;
  return dir === 1 ? firstOfNext : firstOfNext - 1;
}

/** Whether a day of an allowed month matches the day-of-month and weekday fields. */
function matchesDay(c: Compiled, date: Date): boolean {
  const dom = c.days.has(date.getUTCDate());
  const dow = c.weekdays.has(date.getUTCDay());
  return c.eitherDay ? dom || dow : dom && dow;
}

/** The nearest allowed second of the day at or beyond `from` in `dir`, if any. */
function timeOfDay(c: Compiled, from: number, dir: Direction): number | undefined {
  const h0 = Math.floor(from / SECONDS_PER_HOUR);
  const m0 = Math.floor(from / SECONDS_PER_MINUTE) % SECONDS_PER_MINUTE;
  const s0 = from % SECONDS_PER_MINUTE;
  const behind = (v: number, v0: number) => (v - v0) * dir < 0;
  for (const h of c.hours[dir]) {
    if (behind(h, h0)) continue;
    for (const m of c.minutes[dir]) {
      if (h === h0 && behind(m, m0)) continue;
      for (const s of c.seconds[dir]) {
        if (h === h0 && m === m0 && behind(s, s0)) continue;
        return h * SECONDS_PER_HOUR + m * SECONDS_PER_MINUTE + s;
      }
    }
  }
  return undefined;
}
