import { parseDuration } from "../domain/duration.js";

/**
 * Milliseconds of a duration typed on the command line or in a job file ("30s", "1.5s", "500ms",
 * "5m", "1h30m", "2d"; "0" alone is zero). Throws an Error saying what is accepted otherwise (a
 * bare number is refused: its unit would be a guess).
 */
export function parseDurationMs(text: string): number {
  const s = text.trim();
  if (s === "0") return 0;
  const ms = parseDuration(s);
  if (ms === undefined)
    throw new Error(
      s ? `${JSON.stringify(text)} is not a duration such as 30s, 500ms, 5m or 1h30m` : "empty duration: write one such as 30s, 500ms, 5m or 1h30m",
    );
  return ms;
}
