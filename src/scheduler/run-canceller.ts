import type { Coordinator } from "../coordination/coordinator.js";
import type { Clock } from "../domain/clock.js";
import { CronError } from "../domain/cron-error.js";
import { isFinal, type RunRecord } from "../domain/run.js";
import type { Store } from "../store/store.js";
import { DONE_TOMBSTONE_MS, runClaimKey } from "./claim-loop.js";
import type { RunEvents } from "./run-events.js";
import type { RunWorker } from "./run-worker.js";

/** `abort` stops a run now, its request in flight included; `drain` lets it start no new attempt. */
export type CancelMode = "abort" | "drain";

/** The bus topic carrying cancel requests to the replica executing a run. */
export const CANCEL_TOPIC = "cancel";

/** Cancels runs wherever they are: here, claimed by another replica, or not claimed at all. */
export interface RunCanceller {
  /**
   * Starts the cancellation of a run that is not final: aborts it here, or asks the replica
   * holding its claim to abort it, or (nobody holds it) stores it cancelled under its claim.
   * Resolves once the request is made; the run's final state follows. With `drain`, a run
   * executing is not aborted: it starts no new attempt (see RunWorker.drain).
   */
  cancel(run: RunRecord, reason: string, mode?: CancelMode): Promise<void>;
  /** Stops listening for requests from other replicas. */
  stop(): void;
}

/** What the canceller needs. */
export interface RunCancellerDeps {
  store: Store;
  coordinator: Coordinator;
  worker: RunWorker;
  clock: Clock;
  events: RunEvents;
}

/** Creates the canceller and subscribes it to cancel requests addressed to this replica's runs. */
export function createRunCanceller(deps: RunCancellerDeps): RunCanceller {
  const stopHere = (runId: string, reason: string, mode: CancelMode) =>
    mode === "drain" ? deps.worker.drain(runId, reason) : deps.worker.cancel(runId, reason);
  const unsubscribe = deps.coordinator.subscribe(CANCEL_TOPIC, (message) => {
    const request = parseCancel(message);
    if (request) stopHere(request.runId, request.reason, request.mode);
  });
  return {
    async cancel(run, reason, mode = "abort") {
      if (stopHere(run.runId, reason, mode)) return;
      // Holding the run's claim, this replica is the only one that could start it: cancel it in
      // the store, and leave the claim a tombstone so no late offer starts it. A claim held
      // elsewhere means the run executes there: ask that replica to abort it.
      const lock = await deps.coordinator.tryLock(runClaimKey(run.runId));
      if (!lock) {
        await deps.coordinator.publish(CANCEL_TOPIC, JSON.stringify({ runId: run.runId, reason, mode }));
        return;
      }
      await storeCancelled(deps, run.runId, reason);
      await deps.coordinator.retireLocks([lock], DONE_TOMBSTONE_MS);
    },
    stop: unsubscribe,
  };
}

/** Stores the run cancelled, from its current state; a run that finished meanwhile is left alone. */
async function storeCancelled(deps: RunCancellerDeps, runId: string, reason: string): Promise<void> {
  const current = await deps.store.getRun(runId);
  if (!current || isFinal(current.status)) return;
  const now = deps.clock.now();
  const next: RunRecord = { ...current, status: "cancelled", finishedAt: now, updatedAt: now, error: reason, revision: current.revision + 1 };
  try {
    await deps.store.updateRun(next, current.revision);
    deps.events.publish(next);
  } catch (err) {
    // Lost a race with the run finishing (or a claim taken by a replica between our reads).
    if (!(err instanceof CronError && err.code === "version_conflict")) throw err;
  }
}

/** A cancel request off the bus; undefined when malformed. */
function parseCancel(message: string): { runId: string; reason: string; mode: CancelMode } | undefined {
  try {
    const { runId, reason, mode } = JSON.parse(message) as { runId?: unknown; reason?: unknown; mode?: unknown };
    if (typeof runId !== "string") return undefined;
    return { runId, reason: typeof reason === "string" ? reason : "cancelled", mode: mode === "drain" ? "drain" : "abort" };
  } catch {
    return undefined;
  }
}
