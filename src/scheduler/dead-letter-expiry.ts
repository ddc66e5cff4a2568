import type { Clock, TimerHandle } from "../domain/clock.js";
import type { Store } from "../store/store.js";
import type { Metrics } from "../telemetry/metrics.js";

/** What the dead-letter queue's retention needs. */
export interface DeadLetterExpiryDeps {
  store: Store;
  clock: Clock;
  metrics: Metrics;
  /** Dead letters older than this are deleted. */
  retentionMs: number;
  /** Only one replica sweeps at a time: the one that fires (the leader). */
  mayRun: () => boolean;
  /** What each chunk waits for, so that the sweep never lands on a slot (`FireLoop.betweenSlots`). */
  betweenSlots?: () => Promise<void>;
  onError: (err: unknown, step: string) => void;
}

/** The periodic sweep of the dead-letter queue's retention. */
export interface DeadLetterExpiry {
  start(): void;
  stop(): void;
  /** One sweep now; resolves with how many dead letters it deleted. */
  sweep(): Promise<number>;
}

/** How often the leader sweeps: retention counts in days, so an hour's precision is plenty. */
export const EXPIRY_SWEEP_MS = 3_600_000;
/** Dead letters deleted per store call (a bounded pause per chunk). */
const EXPIRY_CHUNK = 500;

/**
 * Deletes dead letters older than the retention, on the leader, in chunks between slots. The
 * queue's retention is its own: history limits never delete a dead letter (see Store.trimRuns).
 */
export function createDeadLetterExpiry(deps: DeadLetterExpiryDeps): DeadLetterExpiry {
  let timer: TimerHandle | undefined;
  let stopped = true;
  /** Deletes chunk after chunk until one comes back short, or `halt()` says to stop. */
  const sweep = async (halt: () => boolean = () => false) => {
    let total = 0;
    for (;;) {
      await deps.betweenSlots?.();
      if (halt()) return total;
      const deleted = await deps.store.expireDeadLetters(deps.clock.now() - deps.retentionMs, EXPIRY_CHUNK);
      total += deleted;
      deps.metrics.deadLettersExpired(deleted);
      if (deleted < EXPIRY_CHUNK) return total;
    }
  };
  const tick = () => {
    timer = deps.clock.setTimer(EXPIRY_SWEEP_MS, tick);
    if (deps.mayRun()) void sweep(() => stopped || !deps.mayRun()).catch((err: unknown) => deps.onError(err, "dead-letter retention"));
  };
  return {
    start() {
      stopped = false;
      tick();
    },
    stop() {
      stopped = true;
      timer?.cancel();
      timer = undefined;
    },
    sweep: () => sweep(),
  };
}
