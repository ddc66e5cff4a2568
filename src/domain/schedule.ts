import { CronExpressionParser } from "cron-parser";
import { CronError } from "./cron-error.js";

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

/** Throws invalid_argument unless `tz` is an IANA time zone known to this runtime. */
export function validateTimezone(tz: string, field = "timezone"): void {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
  } catch {
    throw CronError.invalid(field, `unknown time zone ${JSON.stringify(tz)}`);
  }
}

/** Throws invalid_argument unless `expr` is a 5- or 6-field cron expression or a macro that fires. */
export function validateSchedule(expr: string, tz: string, field = "schedule"): void {
  const trimmed = canonicalSchedule(expr);
  if (!trimmed) throw CronError.invalid(field, "must not be empty");
  checkShape(trimmed, field);
  try {
    CronExpressionParser.parse(trimmed, { tz, currentDate: 0 }).take(PROBE_COUNT);
  } catch (err) {
    throw CronError.invalid(field, `invalid cron expression ${JSON.stringify(expr)}: ${(err as Error).message}`);
  }
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

/**
 * The next `count` fire times of a valid expression strictly after `after` (epoch ms), in `tz`.
 * Stops early at `until` (inclusive) when given.
 */
export function nextFireTimes(expr: string, tz: string, after: number, count: number, until?: number): number[] {
  const it = CronExpressionParser.parse(canonicalSchedule(expr), { tz, currentDate: after });
  const out: number[] = [];
  while (out.length < count && it.hasNext()) {
    const t = it.next().getTime();
    if (until !== undefined && t > until) break;
    out.push(t);
  }
  return out;
}
