import cronstrue from "cronstrue";

/**
 * A cron expression in words ("Every 5 minutes", "At 02:30, Monday through Friday"), on a 24-hour
 * clock; undefined when cronstrue cannot read it (the server stays the judge of validity).
 */
export function scheduleInWords(expression: string): string | undefined {
  const trimmed = expression.trim();
  if (!trimmed) return undefined;
  try {
    return cronstrue.toString(trimmed, { use24HourTimeFormat: true, throwExceptionOnParseError: true });
  } catch {
    return undefined;
  }
}
