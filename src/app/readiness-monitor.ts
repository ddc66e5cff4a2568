import type { Clock, TimerHandle } from "../domain/clock.js";
import { assessReadiness, sameReadiness, type LifePhase, type ProbeResult, type Readiness } from "../domain/readiness.js";

/** A dependency the node cannot serve without, and how to ask it whether it answers. */
export interface Probe {
  /** Its name in readiness answers (`store`, `etcd`). */
  name: string;
  /** Resolves when the dependency answers; rejects with the reason otherwise. */
  ping(): Promise<void>;
}

/** What the API reads: the current readiness, and its changes. */
export interface ReadinessView {
  current(): Readiness;
  /** Calls `listener` after every change of readiness; returns an unsubscribe function. */
  onChange(listener: (readiness: Readiness) => void): () => void;
}

/** Keeps a node's readiness up to date by probing its dependencies in the background. */
export interface ReadinessMonitor extends ReadinessView {
  /** Probes every dependency once, ends start-up, and probes every `intervalMs` from then on. */
  start(): Promise<void>;
  /** The node is stopping: not ready from now on, and probing ends. */
  stop(): void;
}

/** Options of {@link createReadinessMonitor}. */
export interface ReadinessMonitorOptions {
  probes: readonly Probe[];
  clock: Clock;
  /** Pause between two probe rounds. */
  intervalMs: number;
  /** A probe not answered within this is failed (its own deadline may be longer). */
  timeoutMs: number;
}

/**
 * Creates the monitor, starting in the `starting` phase (not ready). Probes run in rounds that never
 * overlap, each probe bounded by `timeoutMs`, so a hung dependency turns the node not ready within
 * `intervalMs + timeoutMs`. Readers get the last round's answer without waiting for a probe.
 */
export function createReadinessMonitor(options: ReadinessMonitorOptions): ReadinessMonitor {
  const listeners = new Set<(readiness: Readiness) => void>();
  let phase: LifePhase = "starting";
  let results: ProbeResult[] = [];
  let current = assessReadiness(phase, results);
  let timer: TimerHandle | undefined;
  const update = () => {
    const next = assessReadiness(phase, results);
    const changed = !sameReadiness(current, next);
    current = next;
    if (changed) for (const listener of listeners) listener(next);
  };
  const round = async () => {
    results = await Promise.all(options.probes.map((probe) => probeOnce(probe, options.clock, options.timeoutMs)));
    if (phase === "stopping") return;
    update();
    timer = options.clock.setTimer(options.intervalMs, () => void round());
  };
  return {
    current: () => current,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async start() {
      phase = "running";
      await round();
    },
    stop() {
      phase = "stopping";
      timer?.cancel();
      update();
    },
  };
}

/** One probe, failed when it rejects or does not answer within `timeoutMs`. */
async function probeOnce(probe: Probe, clock: Clock, timeoutMs: number): Promise<ProbeResult> {
  let deadline: TimerHandle | undefined;
  const expired = new Promise<never>((_, reject) => {
    deadline = clock.setTimer(timeoutMs, () => reject(new Error(`no answer within ${timeoutMs} ms`)));
  });
  try {
    await Promise.race([probe.ping(), expired]);
    return { name: probe.name };
  } catch (err) {
    return { name: probe.name, error: err instanceof Error ? err.message : String(err) };
  } finally {
    deadline?.cancel();
  }
}
