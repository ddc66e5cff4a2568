import type { Coordinator } from "../coordination/coordinator.js";
import type { RunRecord } from "../domain/run.js";

/** The bus topic announcing runs ready to claim. */
export const RUNS_TOPIC = "runs";

/** A run offered to the replicas' claim loops. */
export interface Announced {
  runId: string;
  jobId: string;
  /** True when the job's runs must not overlap (forbid, replace): they are claimed per job. */
  exclusive: boolean;
}

/** Where new queued runs go: announced to every replica, whose claim loops take them. */
export interface RunDispatcher {
  dispatch(runs: Array<{ run: RunRecord; exclusive: boolean }>): void;
}

/**
 * Creates the dispatcher. An announcement is only a hint that saves waiting for the next scan:
 * losing one delays a run by at most a scan interval, never loses it (the run is in the store).
 */
export function createRunDispatcher(coordinator: Coordinator, onError: (err: unknown, step: string) => void): RunDispatcher {
  return {
    dispatch(runs) {
      const announced = runs.filter(({ run }) => run.status === "queued").map(({ run, exclusive }) => [run.runId, run.jobId, exclusive ? 1 : 0]);
      if (announced.length === 0) return;
      void coordinator.publish(RUNS_TOPIC, JSON.stringify(announced)).catch((err: unknown) => onError(err, "announce runs"));
    },
  };
}

/** The runs of an announcement message (compact tuples on the wire); malformed messages yield none. */
export function parseAnnouncement(message: string): Announced[] {
  try {
    const tuples = JSON.parse(message) as [string, string, number][];
    return tuples.map(([runId, jobId, exclusive]) => ({ runId, jobId, exclusive: exclusive === 1 }));
  } catch {
    return [];
  }
}
