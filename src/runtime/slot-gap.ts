import type { Clock } from "../domain/clock.js";

/**
 * Background store work keeps this far from the next slot: the due query of a resync over 10,000
 * jobs holds the event loop 13–45 ms, and each read of 1,000 changed jobs 4–10 ms (the embedded
 * store is synchronous).
 */
export const BACKGROUND_GUARD_MS = 250;

/** Longest background work waits for a gap between slots (due times milliseconds apart never leave one). */
export const BACKGROUND_WAIT_MAX_MS = 2000;

/**
 * Resolves once background work may start between slots: `busy()` (work in progress, such as
 * requests still leaving) is over and `nextSlotAt()` is at least {@link BACKGROUND_GUARD_MS}
 * away; after {@link BACKGROUND_WAIT_MAX_MS} at most.
 */
export async function waitForSlotGap(clock: Clock, nextSlotAt: () => number, busy?: () => Promise<void> | undefined): Promise<void> {
  const deadline = clock.now() + BACKGROUND_WAIT_MAX_MS;
  for (;;) {
    const pending = busy?.();
    if (pending) await pending;
    const now = clock.now();
    const next = nextSlotAt();
    if (next - now >= BACKGROUND_GUARD_MS || now >= deadline) return;
    // Past that slot; the next round waits for its work in progress.
    await new Promise<void>((resolve) => clock.setTimer(Math.min(next, deadline) - now + 1, resolve));
  }
}
