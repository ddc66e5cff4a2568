import type { Clock } from "../domain/clock.js";
import type { IdGenerator } from "../domain/ids.js";
import type { JobLimits } from "../domain/job-validation.js";
import type { Coordinator } from "../coordination/coordinator.js";
import type { RunDispatcher } from "../scheduler/run-announcer.js";
import type { RunCanceller } from "../scheduler/run-canceller.js";
import type { RunEvents } from "../scheduler/run-events.js";
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
  /** Tells the fire loop (on whichever replica leads) that a job was created, changed or deleted. */
  jobChanged: (jobId: string) => void;
  /** MIN_SCHEDULE_INTERVAL and MAX_JOBS_PER_PROJECT; DEFAULT_JOB_LIMITS when absent. */
  limits?: JobLimits;
}
