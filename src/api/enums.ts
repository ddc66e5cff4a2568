import { ConcurrencyPolicy, JobStatus, MisfirePolicy, RetryOn } from "../../gen/cronmesh/v1/job_pb.js";
import { RunStatus, RunTrigger } from "../../gen/cronmesh/v1/run_pb.js";
import type * as domain from "../domain/job.js";
import type * as runs from "../domain/run.js";

/** A two-way mapping between a proto enum and a domain string union; UNSPECIFIED maps to a default. */
export interface EnumMap<P extends number, D extends string> {
  toDomain(value: P): D;
  toProto(value: D): P;
}

function enumMap<P extends number, D extends string>(pairs: [P, D][], fallback: D): EnumMap<P, D> {
  const toD = new Map(pairs);
  const toP = new Map(pairs.map(([p, d]) => [d, p]));
  return {
    toDomain: (value) => toD.get(value) ?? fallback,
    toProto: (value) => toP.get(value)!,
  };
}

/** Job status; UNSPECIFIED reads as active. */
export const jobStatus = enumMap<JobStatus, domain.JobStatus>(
  [
    [JobStatus.ACTIVE, "active"],
    [JobStatus.PAUSED, "paused"],
    [JobStatus.COMPLETED, "completed"],
    [JobStatus.CANCELLED, "cancelled"],
  ],
  "active",
);

/** Concurrency policy; the default is forbid (never two runs of a job at once). */
export const concurrencyPolicy = enumMap<ConcurrencyPolicy, domain.ConcurrencyPolicy>(
  [
    [ConcurrencyPolicy.ALLOW, "allow"],
    [ConcurrencyPolicy.FORBID, "forbid"],
    [ConcurrencyPolicy.REPLACE, "replace"],
  ],
  "forbid",
);

/** Misfire policy; the default is fire_once. */
export const misfirePolicy = enumMap<MisfirePolicy, domain.MisfirePolicy>(
  [
    [MisfirePolicy.SKIP, "skip"],
    [MisfirePolicy.FIRE_ONCE, "fire_once"],
    [MisfirePolicy.CATCH_UP, "catch_up"],
  ],
  "fire_once",
);

/** Retry condition; the default is on_failure. */
export const retryOn = enumMap<RetryOn, domain.RetryOn>(
  [
    [RetryOn.NONE, "none"],
    [RetryOn.ON_FAILURE, "on_failure"],
    [RetryOn.ALWAYS, "always"],
  ],
  "on_failure",
);

/** Run status. */
export const runStatus = enumMap<RunStatus, runs.RunStatus>(
  [
    [RunStatus.QUEUED, "queued"],
    [RunStatus.RUNNING, "running"],
    [RunStatus.SUCCEEDED, "succeeded"],
    [RunStatus.FAILED, "failed"],
    [RunStatus.SKIPPED, "skipped"],
    [RunStatus.CANCELLED, "cancelled"],
    [RunStatus.DEAD_LETTERED, "dead_lettered"],
  ],
  "queued",
);

/** Run trigger kind. */
export const runTrigger = enumMap<RunTrigger, runs.RunTrigger>(
  [
    [RunTrigger.SCHEDULE, "schedule"],
    [RunTrigger.MANUAL, "manual"],
    [RunTrigger.REPLAY, "replay"],
    [RunTrigger.REDRIVE, "redrive"],
    [RunTrigger.BACKFILL, "backfill"],
    [RunTrigger.CATCH_UP, "catch_up"],
  ],
  "manual",
);
