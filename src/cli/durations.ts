/** Milliseconds per unit of a duration written for people ("1h30m", "500ms"). */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?)(ms|h|m|s)/y;

/**
 * Milliseconds of a duration written as one or more number-unit parts, largest first or not:
 * "30s", "1.5s", "500ms", "5m", "1h30m" ("0" alone is zero). Throws an Error saying what is
 * accepted when `text` is anything else (a bare number is refused: its unit would be a guess).
 */
export function parseDurationMs(text: string): number {
  const s = text.trim();
  if (s === "0") return 0;
  let ms = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < s.length) {
    const start = PART.lastIndex;
    const match = PART.exec(s);
    if (!match || match.index !== start) throw new Error(`${JSON.stringify(text)} is not a duration such as 30s, 500ms, 5m or 1h30m`);
    ms += Number(match[1]) * UNIT_MS[match[2]!]!;
  }
  if (s.length === 0) throw new Error("empty duration: write one such as 30s, 500ms, 5m or 1h30m");
  return Math.round(ms);
}

/**
 * The shortest form of a duration in whole hours, minutes and (possibly fractional) seconds, or
 * milliseconds below a second: 5_400_000 → "1h30m", 61_500 → "1m1.5s", 250 → "250ms", 0 → "0s".
 * {@link parseDurationMs} reads every result back to the same value.
 */
export function formatDurationMs(ms: number): string {
  if (ms === 0) return "0s";
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return [h && `${h}h`, m && `${m}m`, s && `${s}s`].filter(Boolean).join("");
}
