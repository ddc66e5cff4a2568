/** A handle returned by {@link Clock.setTimer} and {@link Clock.setAlarm}. */
export interface TimerHandle {
  cancel(): void;
}

/**
 * The source of time. Domain and scheduler code never read the system clock directly: they are
 * handed a Clock, and tests hand them a fake one.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Runs `fn` once after `delayMs` (clamped at 0). */
  setTimer(delayMs: number, fn: () => void): TimerHandle;
  /**
   * Runs `fn` once at the instant `atMs` (epoch ms) of this clock: never before it, and as soon
   * after it as the runtime allows. For the moments that must be precise (a due slot's requests
   * leaving); a plain timer may fire a millisecond or two off.
   */
  setAlarm(atMs: number, fn: () => void): TimerHandle;
}
