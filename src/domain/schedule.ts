/**
 * Cron expressions: validation and fire times.
 *
 * ## Daylight-saving rule
 *
 * An expression is matched against the wall clock of the job's time zone. Where that wall clock
 * jumps, cronmesh decides what fires by the expression's hour field, whatever the cron library
 * underneath would do:
 *
 * - **Fixed-hour expressions** name their hours: the hour field has no `*`, `?` or `/` step
 *   (`30 2 * * *`, `0 1,13 * * *`, `0 9-17 * * 1-5`, `@daily`, `@weekly`, `@monthly`, `@yearly`).
 *   - Spring forward: a slot whose wall-clock time falls in the gap fires once, at the first valid
 *     instant after the gap. `30 2 * * *` in America/New_York fires on 2026-03-08 at 03:00 EDT
 *     (07:00Z). All slots inside one gap (`15,45 2 * * *`) collapse into that single fire.
 *   - Fall back: a wall-clock time that occurs twice fires once, at its first occurrence.
 *     `30 1 * * *` in America/New_York fires on 2026-11-01 at 01:30 EDT (05:30Z) only.
 * - **Wildcard-hour expressions** have `*` (alone or with a step) or any `/` step in the hour field
 *   (`0 * * * *`, `0 0-23/2 * * *`, `0 9-17/3 * * *`, `@hourly`). They follow real time:
 *   - Spring forward: wall-clock times that do not exist are skipped, with no fire at the end of
 *     the gap.
 *   - Fall back: a repeated wall-clock time fires at both occurrences, which are distinct real
 *     instants (`0 * * * *` fires at 01:00 EDT and again at 01:00 EST).
 *
 * Fire times are strictly increasing: no instant is returned twice. This is croner's rule
 * (`fixedTimeRule: "no-wildcard"`) and close to Vixie cron's, with one deliberate difference: they
 * also look at the minute field. A fixed hour with a stepped or wildcard minute (`0-59/15 2 * * *`,
 * `* 2 * * *`) follows real time for croner, and for Vixie when the minute starts with `*`; for
 * cronmesh the hour pins the job, so it fires once at the end of the gap and once per repeated
 * wall-clock time. A wildcard-hour expression whose every slot falls in a gap never fires.
 *
 * How: cron-parser parses the expression; its matches are walked on the wall clock read as UTC,
 * where there is no DST to get wrong (`wall-clock-matcher.ts`, or cron-parser itself for `L` and
 * `#`); each stretch of constant offset (`zone-offsets.ts`) then maps wall-clock slots to
 * instants by the rule above.
 */
import { CronExpressionParser } from "cron-parser";
import { CronError } from "./cron-error.js";
import { compileMatcher, type WallClockMatcher } from "./wall-clock-matcher.js";
import { offsetStretchAt, type OffsetStretch } from "./zone-offsets.js";

/** Macros accepted in place of a cron expression. */
const MACROS = new Set(["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"]);
/**
 * cron-parser's `H` (hashed) values are random per parse, so two replicas would disagree on the
 * slots of one job; every replica must compute the same times, so `H` is refused.
 */
const HASHED_FIELD = /(^|[\s,/-])H(?![a-zA-Z])/;
/** Enough iterations to prove an expression fires at all within cron-parser's own search limit. */
const PROBE_COUNT = 1;

/** The stored form of an expression: trimmed, macros lower-cased and mapped to the names cron-parser knows. */
export function canonicalSchedule(expr: string): string {
  const trimmed = expr.trim();
  if (!trimmed.startsWith("@")) return trimmed;
  const macro = trimmed.toLowerCase();
  return macro === "@midnight" ? "@daily" : macro === "@annually" ? "@yearly" : macro;
}

/** Zones already known to be valid: building an Intl.DateTimeFormat costs ~100 µs, a lookup nothing. */
const KNOWN_ZONES = new Set<string>();

/** Throws invalid_argument unless `tz` is an IANA time zone known to this runtime. */
export function validateTimezone(tz: string, field = "timezone"): void {
  if (KNOWN_ZONES.has(tz)) return;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
  } catch {
    throw CronError.invalid(field, `unknown time zone ${JSON.stringify(tz)}`);
  }
  KNOWN_ZONES.add(tz);
}

/**
 * Expressions (with their zone) already proved valid: whether one is valid never changes, and
 * proving it (a parse and a walk) costs more than the rest of a job's validation. Bounded as the
 * matchers are (see {@link MATCHER_CACHE_SIZE}); the oldest entry goes first.
 */
const VALID_SCHEDULES = new Set<string>();

/** Throws invalid_argument unless `expr` is a 5- or 6-field cron expression or a macro that fires. */
export function validateSchedule(expr: string, tz: string, field = "schedule"): void {
  const trimmed = canonicalSchedule(expr);
  const key = `${tz} ${trimmed}`;
  if (VALID_SCHEDULES.has(key)) return;
  if (!trimmed) throw CronError.invalid(field, "must not be empty");
  checkShape(trimmed, field);
  try {
    CronExpressionParser.parse(trimmed, { tz, currentDate: 0 }).take(PROBE_COUNT);
  } catch (err) {
    throw CronError.invalid(field, `invalid cron expression ${JSON.stringify(expr)}: ${(err as Error).message}`);
  }
  if (VALID_SCHEDULES.size >= MATCHER_CACHE_SIZE) VALID_SCHEDULES.delete(VALID_SCHEDULES.values().next().value!);
  VALID_SCHEDULES.add(key);
}

function checkShape(expr: string, field: string): void {
  if (expr.startsWith("@")) {
    if (!MACROS.has(expr)) throw CronError.invalid(field, `unknown macro ${JSON.stringify(expr)}`);
    return;
  }
  const fields = expr.split(/\s+/).length;
  if (fields !== 5 && fields !== 6) {
    throw CronError.invalid(field, `expected 5 or 6 fields (or a macro), got ${fields}`);
  }
  if (HASHED_FIELD.test(expr)) throw CronError.invalid(field, "hashed (H) values are not supported");
}

/** The wall clock is walked as if it were UTC, a zone without offset changes. */
const WALL_CLOCK_ZONE = "UTC";
/**
 * Parsed expressions kept: far more than the distinct schedules of a large deployment (jobs share
 * a few hundred expressions), small enough to bound memory; the oldest entry goes first.
 */
const MATCHER_CACHE_SIZE = 4096;
const matchers = new Map<string, WallClockMatcher>();
/**
 * How far a walk looks for fire times: a century. No valid expression has slots more than eight
 * years apart (29 February skips 2100); one that finds none in a century is a wildcard-hour
 * expression whose every slot falls in a DST gap (`0 2-9/12 * 3 0L` in Europe/Belgrade), which
 * never fires.
 */
const SEARCH_HORIZON_MS = 100 * 365.25 * 86_400_000;
/** A fixed hour names hours: no wildcard (`*`, `?`) and no `/` step. */
const WILDCARD_HOUR = /[*?/]/;

/**
 * The next `count` fire times of a valid expression strictly after `after` (epoch ms), in `tz`,
 * ascending and distinct, under the daylight-saving rule above. Stops early at `until`
 * (inclusive) when given.
 */
export function nextFireTimes(expr: string, tz: string, after: number, count: number, until?: number): number[] {
  const out: number[] = [];
  let last = after;
  if (count <= 0) return out;
  for (const t of instantsAfter(canonicalSchedule(expr), tz, after)) {
    if (until !== undefined && t > until) break;
    if (t > last) out.push((last = t));
    if (out.length >= count) break;
  }
  return out;
}

/**
 * The latest `count` fire times of a valid expression strictly before `before` (epoch ms), in
 * `tz`, newest first and distinct: the same instants {@link nextFireTimes} returns, walked
 * backwards. Stops early at `since` (inclusive) when given.
 */
export function previousFireTimes(expr: string, tz: string, before: number, count: number, since?: number): number[] {
  const out: number[] = [];
  let last = before;
  if (count <= 0) return out;
  for (const t of instantsBefore(canonicalSchedule(expr), tz, before)) {
    if (since !== undefined && t < since) break;
    if (t < last) out.push((last = t));
    if (out.length >= count) break;
  }
  return out;
}

/** True when the expression's hour field names hours: see the daylight-saving rule above. */
function isFixedHour(pattern: string): boolean {
  if (pattern.startsWith("@")) return pattern !== "@hourly";
  const fields = pattern.split(/\s+/);
  const hour = fields[fields.length === 6 ? 2 : 1] ?? "*";
  return !WILDCARD_HOUR.test(hour);
}

/**
 * The earliest wall-clock time (inclusive) whose slots fire inside a stretch. A fixed-hour
 * expression starts at the wall clock just before the stretch: after a gap that takes in the
 * skipped times; after a fall back it leaves out the repeated ones, which fired before.
 */
function wallStart(s: OffsetStretch, fixedHour: boolean): number {
  return s.start + (fixedHour ? s.previousOffset : s.offset);
}

/** The instant a wall-clock slot fires at inside a stretch: slots in a gap move to its end. */
function instantOf(wall: number, s: OffsetStretch): number {
  return Math.max(s.start, wall - s.offset);
}

/** Fire instants after `after`, ascending; slots collapsed into a gap's end repeat its instant. */
function* instantsAfter(pattern: string, tz: string, after: number): Generator<number> {
  const fixedHour = isFixedHour(pattern);
  const wall = wallMatcher(pattern);
  let stretch = offsetStretchAt(tz, after);
  let w = wall.firstAtOrAfter(Math.max(wallStart(stretch, fixedHour), Math.floor(after + stretch.offset) + 1));
  for (const horizon = after + SEARCH_HORIZON_MS; stretch.start <= horizon;) {
    for (let t = instantOf(w, stretch); t < stretch.end; t = instantOf(w, stretch)) {
      yield t;
      w = wall.firstAtOrAfter(w + 1);
    }
    stretch = offsetStretchAt(tz, stretch.end);
    w = wall.firstAtOrAfter(wallStart(stretch, fixedHour));
  }
}

/** Fire instants before `before`, descending; slots collapsed into a gap's end repeat its instant. */
function* instantsBefore(pattern: string, tz: string, before: number): Generator<number> {
  const fixedHour = isFixedHour(pattern);
  const wall = wallMatcher(pattern);
  let stretch = offsetStretchAt(tz, Math.ceil(before) - 1);
  let w = wall.lastBefore(Math.ceil(before + stretch.offset));
  for (const horizon = before - SEARCH_HORIZON_MS; stretch.end >= horizon;) {
    for (const lowest = wallStart(stretch, fixedHour); w >= lowest; w = wall.lastBefore(w)) yield instantOf(w, stretch);
    stretch = offsetStretchAt(tz, stretch.start - 1);
    w = wall.lastBefore(stretch.end + stretch.offset);
  }
}

/**
 * The wall-clock matcher of a pattern, memoised: the fast one, or cron-parser walking in UTC for
 * expressions with `L` or `#`. A cron-parser iterator is shared safely because every use
 * resets it and reads one result at once.
 */
function wallMatcher(pattern: string): WallClockMatcher {
  let matcher = matchers.get(pattern);
  if (!matcher) {
    const it = CronExpressionParser.parse(pattern, { tz: WALL_CLOCK_ZONE, currentDate: 0 });
    matcher = compileMatcher(it.fields) ?? {
      firstAtOrAfter(wall) {
        it.reset(new Date(wall - 1));
        return it.next().getTime();
      },
      lastBefore(wall) {
        it.reset(new Date(wall));
        return it.prev().getTime();
      },
    };
    if (matchers.size >= MATCHER_CACHE_SIZE) matchers.delete(matchers.keys().next().value as string);
    matchers.set(pattern, matcher);
  }
  return matcher;
}
