import type { ConcurrencyPolicy } from "./job.js";

/** What to do with a new run of a job, given the job's runs still queued or running. */
export type OverlapDecision = { action: "start" } | { action: "skip"; reason: "overlap" } | { action: "replace"; cancel: string[] };

/**
 * The concurrency policy as a pure decision (one case per policy): allow always starts; forbid
 * skips while anything of the job is active; replace cancels what is active and starts.
 */
export function decideOverlap(policy: ConcurrencyPolicy, running: readonly string[]): OverlapDecision {
  switch (policy) {
    case "allow":
      return { action: "start" };
    case "forbid":
      return running.length > 0 ? { action: "skip", reason: "overlap" } : { action: "start" };
    case "replace":
      return running.length > 0 ? { action: "replace", cancel: [...running] } : { action: "start" };
  }
}
