import type { Clock } from "../domain/clock.js";
import type { IdGenerator } from "../domain/ids.js";
import type { JobSpec } from "../domain/job.js";
import type { RunRecord } from "../domain/run.js";
import type { Coordinator } from "../coordination/coordinator.js";
import type { RunEvents } from "../scheduler/run-events.js";
import type { Store } from "../store/store.js";
import type { Metrics } from "../telemetry/metrics.js";

/** Where runs go to execute (the worker pool of this node). */
export interface RunDispatcher {
  /** Queues a run; exclusive runs of one job execute one at a time. `spec` is the run's job version, when at hand. */
  submit(run: RunRecord, exclusive: boolean, spec?: JobSpec): void;
  /** Aborts a run waiting or executing on this node; false when it is not here. */
  cancel(runId: string, reason: string): boolean;
  /** Ids of a job's runs waiting or executing on this node. */
  activeRuns(jobId: string): string[];
}

/** What the application services need; wired once in main.ts. */
export interface AppDeps {
  store: Store;
  clock: Clock;
  ids: IdGenerator;
  coordinator: Coordinator;
  dispatcher: RunDispatcher;
  events: RunEvents;
  metrics: Metrics;
  /** Tells the fire loop that a job was created, changed or deleted. */
  jobChanged: (jobId: string) => void;
}
