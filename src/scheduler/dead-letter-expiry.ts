import { createLeaderSweep, type LeaderSweep, type LeaderSweepDeps } from "./leader-sweep.js";

/** What the dead-letter queue's retention needs: dead letters older than `retentionMs` are deleted. */
export type DeadLetterExpiryDeps = LeaderSweepDeps;

/** The periodic sweep of the dead-letter queue's retention. */
export type DeadLetterExpiry = LeaderSweep;

/** How often the leader sweeps: retention counts in days, so an hour's precision is plenty. */
export const EXPIRY_SWEEP_MS = 3_600_000;
/** Dead letters deleted per store call (a bounded pause per chunk). */
const EXPIRY_CHUNK = 500;

/**
 * Deletes dead letters older than the retention, on the leader, in chunks between slots. The
 * queue's retention is its own: history limits never delete a dead letter (see Store.trimRuns).
 */
export function createDeadLetterExpiry(deps: DeadLetterExpiryDeps): DeadLetterExpiry {
  // Chunk after chunk until one comes back short, or `halt()` says to stop.
  return createLeaderSweep(deps, EXPIRY_SWEEP_MS, "dead-letter retention", async (halt) => {
    let total = 0;
    for (;;) {
      await deps.betweenSlots?.();
      if (halt()) return total;
      const deleted = await deps.store.expireDeadLetters(deps.clock.now() - deps.retentionMs, EXPIRY_CHUNK);
      total += deleted;
      deps.metrics.deadLettersExpired(deleted);
      if (deleted < EXPIRY_CHUNK) return total;
    }
  });
}
