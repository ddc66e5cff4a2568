import type { Coordinator } from "../coordination/coordinator.js";
import type { RunRecord } from "../domain/run.js";
import type { LiveRunFilter, RunWorker } from "./run-worker.js";

/** The topic on which every replica answers which runs execute on it. */
export const LIVE_RUNS_TOPIC = "live-runs";

/**
 * How long a read waits for the replicas' live runs. A replica answers from memory within
 * milliseconds; a second covers a busy event loop. A replica that died is still asked until its
 * session lease expires, and holds reads up this long meanwhile (they then fall back on the store).
 */
export const LIVE_RUNS_TIMEOUT_MS = 1000;

/** A question to the replicas: a filter, and whether summaries (no attempts, no task results) do. */
export interface LiveRunQuestion extends LiveRunFilter {
  summary?: boolean;
}

/** What the replicas hold live. */
export interface LiveRunSet {
  /** The live states of the runs executing on the replicas that answered. */
  runs: RunRecord[];
  /** False when a replica did not answer: runs executing there are missing. */
  complete: boolean;
}

/** The runs executing on any replica, as they stand in memory (their steps reach the store only at checkpoints). */
export interface LiveRuns {
  find(question: LiveRunQuestion): Promise<LiveRunSet>;
  /** Stops answering the other replicas. */
  stop(): void;
}

/**
 * Makes this replica answer, on the coordinator, which runs execute here, and asks every replica
 * the same: the exact `running` state of any run, from any replica, with no store write per step.
 */
export function createLiveRuns(coordinator: Coordinator, worker: Pick<RunWorker, "liveRuns">, timeoutMs = LIVE_RUNS_TIMEOUT_MS): LiveRuns {
  const stop = coordinator.answer(LIVE_RUNS_TOPIC, (question) => {
    const q = JSON.parse(question) as LiveRunQuestion;
    const runs = worker.liveRuns(q);
    return JSON.stringify(q.summary ? runs.map((r) => ({ ...r, attempts: [], taskResults: [] })) : runs);
  });
  return {
    async find(question) {
      const answers = await coordinator.ask(LIVE_RUNS_TOPIC, JSON.stringify(question), timeoutMs);
      const runs = [...answers.byNode.values()].flatMap((a) => JSON.parse(a) as RunRecord[]);
      return { runs, complete: answers.complete };
    },
    stop,
  };
}
