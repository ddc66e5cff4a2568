import type { Clock, TimerHandle } from "../domain/clock.js";

/**
 * How long before an alarm its timer fires; the rest is waited out by polling the clock once per
 * event-loop turn (I/O still flows). Node timers have a millisecond's granularity and fire up to
 * about a millisecond late against the wall clock; the poll makes an alarm fire within a few
 * microseconds of its instant.
 */
const ALARM_POLL_MS = 2;

/**
 * Most milliseconds of polling per second of wall time: alarms due every millisecond (thousands of
 * jobs with jitter) would otherwise keep a core spinning. Past the budget an alarm fires from its
 * timer, as precise as a plain timer.
 */
const ALARM_POLL_BUDGET_MS = 100;

/** The real clock: wall time and Node timers. The only place that reads the system clock. */
export function createSystemClock(): Clock {
  const now = () => Date.now();
  const setTimer = (delayMs: number, fn: () => void): TimerHandle => {
    const t = setTimeout(fn, Math.max(0, delayMs));
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  };
  const budget = createPollBudget();
  return {
    now,
    setTimer,
    setAlarm(atMs, fn) {
      let cancelled = false;
      let immediate: NodeJS.Immediate | undefined;
      const poll = () => {
        immediate = undefined;
        if (cancelled) return;
        const t = now();
        if (t >= atMs) return fn();
        if (!budget.take(t)) return void (timer = setTimer(atMs - t, poll));
        immediate = setImmediate(poll);
      };
      let timer = setTimer(atMs - ALARM_POLL_MS - now(), poll);
      return {
        cancel: () => {
          cancelled = true;
          timer.cancel();
          if (immediate) clearImmediate(immediate);
        },
      };
    },
  };
}

/**
 * Counts poll turns against {@link ALARM_POLL_BUDGET_MS} per wall-clock second, each turn
 * charged the time since the previous one (at most a millisecond).
 */
function createPollBudget() {
  let second = 0;
  let spent = 0;
  let last = 0;
  return {
    take(t: number): boolean {
      const s = Math.floor(t / 1000);
      if (s !== second) {
        second = s;
        spent = 0;
      }
      spent += Math.min(1, Math.max(0, t - last));
      last = t;
      return spent <= ALARM_POLL_BUDGET_MS;
    },
  };
}
