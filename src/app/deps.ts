import type { Clock } from "../domain/clock.js";
import type { IdGenerator } from "../domain/ids.js";
import type { OutboundPolicy } from "../domain/outbound-policy.js";
import type { JobLimits } from "../domain/job-validation.js";
import type { Coordinator } from "../coordination/coordinator.js";
import type { RunDispatcher } from "../scheduler/run-dispatcher.js";
import type { RunCanceller } from "../scheduler/run-canceller.js";
import type { RunEvents } from "../scheduler/run-events.js";
import type { LiveRuns } from "../scheduler/live-runs.js";
import type { Store } from "../store/store.js";
import type { Metrics } from "../telemetry/metrics.js";

/** What the application services need; wired once in main.ts. */
export interface AppDeps {
  store: Store;
  clock: Clock;
  ids: IdGenerator;
  coordinator: Coordinator;
  /** Announces new queued runs to the replicas' claim loops. */
  dispatcher: RunDispatcher;
  /** Cancels runs wherever they execute. */
  canceller: RunCanceller;
  events: RunEvents;
  metrics: Metrics;
  /**
   * The live states of runs executing right now, on any replica. A running run's state reaches
   * the store only at its checkpoints, so reads of runs not final ask here too. Absent: the store
   * alone answers.
   */
  live?: LiveRuns;
  /**
   * Tells every replica (the leader's fire loop, the job caches) that a job was created or changed
   * (its new version) or deleted (`DELETED_VERSION`). Takes effect on this replica before it returns.
   */
  jobChanged: (jobId: string, version: number) => void;
  /** Refuses targets at denied addresses when a job is written (default: the built-in deny list). */
  outbound?: OutboundPolicy;
  /** MIN_SCHEDULE_INTERVAL and MAX_JOBS_PER_PROJECT; DEFAULT_JOB_LIMITS when absent. */
  limits?: JobLimits;
}
