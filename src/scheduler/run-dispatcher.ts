import type { Coordinator } from "../coordination/coordinator.js";
import type { RunRecord } from "../domain/run.js";

/** The bus topic announcing runs ready to claim. */
export const RUNS_TOPIC = "runs";

/** A run offered to the replicas' claim loops. */
export interface Announced {
  run: RunRecord;
  /** True when the job's runs must not overlap (forbid, replace): one replica executes them, in order. */
  exclusive: boolean;
}

/** Where new queued runs go: announced to every replica, whose claim loops take them. */
export interface RunDispatcher {
  dispatch(runs: Announced[]): void;
}

/**
 * Creates the dispatcher. An announcement carries the runs themselves, so a claimant needs no
 * read to start them. It is only a hint that saves waiting for the next store scan: a lost one
 * delays its runs by at most a scan interval, never loses them (the runs are in the store).
 */
export function createRunDispatcher(coordinator: Coordinator, onError: (err: unknown, step: string) => void): RunDispatcher {
  return {
    dispatch(runs) {
      const queued = runs.filter(({ run }) => run.status === "queued");
      if (queued.length === 0) return;
      void coordinator.publish(RUNS_TOPIC, encodeAnnouncement(queued)).catch((err: unknown) => onError(err, "announce runs"));
    },
  };
}

/**
 * The dispatcher of a node alone (the embedded coordinator): it is every replica there is, so its
 * runs go straight to its own claim loop, with no message to encode and decode.
 */
export function createLocalDispatcher(offer: (runs: Announced[]) => Promise<void>, onError: (err: unknown, step: string) => void): RunDispatcher {
  return {
    dispatch(runs) {
      const queued = runs.filter(({ run }) => run.status === "queued");
      if (queued.length > 0) void offer(queued).catch((err: unknown) => onError(err, "claim"));
    },
  };
}

/** The message announcing runs (see {@link parseAnnouncement}). */
export function encodeAnnouncement(runs: Announced[]): string {
  return JSON.stringify(runs.map(({ run, exclusive }) => [exclusive ? 1 : 0, run]));
}

/** The runs of an announcement message; a malformed message yields none. */
export function parseAnnouncement(message: string): Announced[] {
  try {
    const tuples = JSON.parse(message) as [number, RunRecord][];
    return tuples.filter(([, run]) => typeof run?.runId === "string").map(([exclusive, run]) => ({ run, exclusive: exclusive === 1 }));
  } catch {
    return [];
  }
}
