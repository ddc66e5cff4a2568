import { formatTime, relativeDue, relativeTime } from "../lib/format.js";
import { useNow } from "../lib/hooks.js";

/** An instant: absolute (in `zone`, else the browser's) with how long ago or until, kept current; a `due` time past says overdue. */
export function Time({ ms, zone, relative = true, due = false }: { ms: number | undefined; zone?: string; relative?: boolean; due?: boolean }) {
  const now = useNow();
  if (ms === undefined) return <span class="muted">—</span>;
  return (
    <span class="time" title={new Date(ms).toISOString()}>
      <span class="mono">{formatTime(ms, zone)}</span>
      {relative ? <span class="rel"> {due ? relativeDue(ms, now) : relativeTime(ms, now)}</span> : null}
    </span>
  );
}
