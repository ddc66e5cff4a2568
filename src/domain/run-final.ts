import type { RunStatus } from "./run.js";

/** What executing a run came to: its work succeeded, was cancelled, or failed with an error. */
export interface Outcome {
  ok: boolean;
  cancelled: boolean;
  error: string;
}

/** The final state of an executed run: status, error and the short result summary. */
export interface FinalState {
  status: RunStatus;
  error: string;
  result: string;
}

/**
 * The final state of an executed run. Work that failed ends `failed` (and enters the dead-letter
 * queue); a cancel ends it `cancelled` with the cancel's reason; no outcome (the job was gone
 * before the run could start), or a job deleted while it ran, ends it `cancelled` too — a
 * deleted job's runs never wait in the dead-letter queue, since nothing could redrive them.
 */
export function finalState(outcome: Outcome | undefined, reason: string, jobDeleted: boolean): FinalState {
  if (!outcome || (jobDeleted && !outcome.ok)) return { status: "cancelled", error: "job was deleted", result: "cancelled" };
  if (outcome.ok) return { status: "succeeded", error: "", result: "succeeded" };
  if (outcome.cancelled) return { status: "cancelled", error: reason || "cancelled", result: "cancelled" };
  return { status: "failed", error: outcome.error, result: "failed; in the dead-letter queue" };
}
