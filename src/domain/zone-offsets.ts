/**
 * UTC offsets of IANA time zones, read from the runtime's Intl time-zone data.
 *
 * Everything here is a pure function of its arguments (and of the tz database the runtime ships),
 * so results are memoised: one `Intl.DateTimeFormat` per zone, and the offset changes of a zone
 * per UTC year, found once by sampling and then looked up by the scheduler's hot path.
 */

/** One second in ms: offsets and their changes fall on whole seconds in the tz database. */
const SECOND_MS = 1000;
/**
 * One day in ms: the step at which a year is sampled for offset changes. No zone changes its
 * offset twice within one day, so a change between two samples is never hidden by another.
 */
const DAY_MS = 86_400_000;

/** A stretch of time during which a zone keeps one UTC offset. Times are epoch ms. */
export interface OffsetStretch {
  /** First instant of the stretch: an offset change, or the start of a UTC year. */
  start: number;
  /** First instant after the stretch: the next offset change, or the start of the next UTC year. */
  end: number;
  /** Local wall clock minus UTC during the stretch, in ms (New York in winter: −5 h). */
  offset: number;
  /** The offset just before `start`; it differs from `offset` when the stretch begins with a change. */
  previousOffset: number;
}

/** A change of offset at instant `at`. */
interface Transition {
  at: number;
  before: number;
  after: number;
}

/** The offset changes of one zone during one UTC year. */
interface YearTable {
  /** The offset in force just before the year starts. */
  offsetBefore: number;
  /** Changes at instants in [year start, next year start), ascending. */
  transitions: Transition[];
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const yearTables = new Map<string, YearTable>();

/** The formatter of one zone, built once: construction costs far more than formatting. */
function formatterFor(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(tz, f);
  }
  return f;
}

/** How the en-US formatter above writes a wall clock: `3/8/2026, 03:00:00`. */
const EN_US_WALL_CLOCK = /^(\d+)\/(\d+)\/(\d+), (\d+):(\d+):(\d+)$/;

/**
 * The wall clock of `tz` at instant `t`, read as if it were a UTC time (epoch ms, whole seconds).
 * For years 100 to 9999; cronmesh never schedules outside them. Parsing `format()` is about three
 * times faster than `formatToParts()`, which stays as the fallback should a runtime write it
 * differently.
 */
function wallClockAt(tz: string, t: number): number {
  const m = EN_US_WALL_CLOCK.exec(formatterFor(tz).format(t));
  if (!m) return wallClockFromParts(tz, t);
  return Date.UTC(Number(m[3]), Number(m[1]) - 1, Number(m[2]), Number(m[4]), Number(m[5]), Number(m[6]));
}

function wallClockFromParts(tz: string, t: number): number {
  const f = { year: 0, month: 1, day: 1, hour: 0, minute: 0, second: 0 };
  for (const part of formatterFor(tz).formatToParts(t)) {
    if (part.type in f) f[part.type as keyof typeof f] = Number(part.value);
  }
  return Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second);
}

/** Local wall clock minus UTC at instant `t` in `tz`, in ms. */
function utcOffsetAt(tz: string, t: number): number {
  const whole = Math.floor(t / SECOND_MS) * SECOND_MS;
  return wallClockAt(tz, whole) - whole;
}

/** The stretch of constant offset of `tz` that contains instant `t`. */
export function offsetStretchAt(tz: string, t: number): OffsetStretch {
  const year = new Date(t).getUTCFullYear();
  const table = yearTable(tz, year);
  let stretch: OffsetStretch = {
    start: Date.UTC(year, 0, 1),
    end: Date.UTC(year + 1, 0, 1),
    offset: table.offsetBefore,
    previousOffset: table.offsetBefore,
  };
  for (const change of table.transitions) {
    if (change.at > t) return { ...stretch, end: change.at };
    stretch = { start: change.at, end: stretch.end, offset: change.after, previousOffset: change.before };
  }
  return stretch;
}

function yearTable(tz: string, year: number): YearTable {
  const key = `${tz}|${year}`;
  let table = yearTables.get(key);
  if (!table) {
    const start = Date.UTC(year, 0, 1);
    table = { offsetBefore: utcOffsetAt(tz, start - SECOND_MS), transitions: scanYear(tz, start, Date.UTC(year + 1, 0, 1)) };
    yearTables.set(key, table);
  }
  return table;
}

/**
 * Offset changes at instants in [start, end). Samples one second before `start`, then every day,
 * then one second before `end`, and bisects each pair of samples whose offsets differ.
 */
function scanYear(tz: string, start: number, end: number): Transition[] {
  const found: Transition[] = [];
  const last = end - SECOND_MS;
  let lo = start - SECOND_MS;
  let loOffset = utcOffsetAt(tz, lo);
  while (lo < last) {
    const hi = Math.min(lo + DAY_MS, last);
    const hiOffset = utcOffsetAt(tz, hi);
    if (hiOffset !== loOffset) found.push(locateChange(tz, lo, hi, loOffset));
    lo = hi;
    loOffset = hiOffset;
  }
  return found;
}

/** Bisects (lo, hi], whole seconds, down to the first second whose offset is not `loOffset`. */
function locateChange(tz: string, lo: number, hi: number, loOffset: number): Transition {
  while (hi - lo > SECOND_MS) {
    const mid = lo + Math.floor((hi - lo) / (2 * SECOND_MS)) * SECOND_MS;
    if (utcOffsetAt(tz, mid) === loOffset) lo = mid;
    else hi = mid;
  }
  return { at: hi, before: loOffset, after: utcOffsetAt(tz, hi) };
}
