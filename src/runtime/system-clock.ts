import type { Clock } from "../domain/clock.js";

/** The real clock: wall time and Node timers. The only place that reads the system clock. */
export function createSystemClock(): Clock {
  return {
    now: () => Date.now(),
    setTimer: (delayMs, fn) => {
      const t = setTimeout(fn, Math.max(0, delayMs));
      t.unref?.();
      return { cancel: () => clearTimeout(t) };
    },
  };
}
