import type { Clock, TimerHandle } from "../../src/domain/clock.js";

/** A clock tests move by hand; timers fire in due order as time passes. */
export interface FakeClock extends Clock {
  advance(ms: number): void;
  set(ms: number): void;
}

/** Creates a fake clock starting at `start` (epoch ms or ISO string). */
export function createFakeClock(start: number | string): FakeClock {
  let now = typeof start === "string" ? Date.parse(start) : start;
  const timers: { at: number; fn: () => void; live: boolean }[] = [];
  const runDue = () => {
    for (;;) {
      const next = timers.filter((t) => t.live && t.at <= now).sort((a, b) => a.at - b.at)[0];
      if (!next) return;
      next.live = false;
      next.fn();
    }
  };
  const setTimer = (delayMs: number, fn: () => void): TimerHandle => {
    const timer = { at: now + Math.max(0, delayMs), fn, live: true };
    timers.push(timer);
    return { cancel: () => void (timer.live = false) };
  };
  return {
    now: () => now,
    setTimer,
    setAlarm: (atMs, fn) => setTimer(atMs - now, fn),
    advance(ms) {
      now += ms;
      runDue();
    },
    set(ms) {
      now = ms;
      runDue();
    },
  };
}
