import type { Clock, TimerHandle } from "../domain/clock.js";
import type { Store } from "../store/store.js";
import type { Metrics } from "../telemetry/metrics.js";

/** What a retention sweep on the leader needs. */
export interface LeaderSweepDeps {
  store: Store;
  clock: Clock;
  metrics: Metrics;
  /** What is older than this is deleted. */
  retentionMs: number;
  /** Only one replica sweeps at a time: the one that fires (the leader). */
  mayRun: () => boolean;
  /** What each chunk waits for, so that the sweep never lands on a slot (`FireLoop.betweenSlots`). */
  betweenSlots?: () => Promise<void>;
  onError: (err: unknown, step: string) => void;
}

/** A periodic sweep on the leader. */
export interface LeaderSweep {
  start(): void;
  stop(): void;
  /** One sweep now; resolves with how many records it deleted. */
  sweep(): Promise<number>;
}

/**
 * Runs `sweep` every `everyMs` on the replica that leads (checked at each tick, and by `halt`
 * between the sweep's own chunks: a replica that stops leading, or stops, ends its sweep there).
 * A failed sweep is reported as `step` and tried again at the next tick.
 */
export function createLeaderSweep(
  deps: Pick<LeaderSweepDeps, "clock" | "mayRun" | "onError">,
  everyMs: number,
  step: string,
  sweep: (halt: () => boolean) => Promise<number>,
): LeaderSweep {
  let timer: TimerHandle | undefined;
  let stopped = true;
  const tick = () => {
    timer = deps.clock.setTimer(everyMs, tick);
    if (deps.mayRun()) void sweep(() => stopped || !deps.mayRun()).catch((err: unknown) => deps.onError(err, step));
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
    sweep: () => sweep(() => false),
  };
}
