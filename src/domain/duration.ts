/** Milliseconds per unit of a duration written as people write them. */
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** One or more `<number><unit>` terms, e.g. `500ms`, `1m`, `1h30m`, `1.5s`, `30d`. */
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const TERM = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/**
 * Milliseconds of a duration in Go's style (`300ms`, `1m`, `1h30m`, plus `d` for days), rounded
 * to a whole millisecond; undefined when the text is not such a duration (no sign, no spaces, at
 * least one term, every term with a unit).
 */
export function parseDuration(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined;
  let ms = 0;
  for (const [, value, unit] of text.matchAll(TERM)) ms += Number(value) * UNITS[unit!]!;
  return Number.isFinite(ms) ? Math.round(ms) : undefined;
}

/**
 * The shortest form of a duration in whole hours, minutes and (possibly fractional) seconds, or
 * milliseconds below a second: 5_400_000 → "1h30m", 61_500 → "1m1.5s", 250 → "250ms", 0 → "0s".
 * {@link parseDuration} reads every result back to the same value.
 */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return [h && `${h}h`, m && `${m}m`, s && `${s}s`].filter(Boolean).join("");
}
