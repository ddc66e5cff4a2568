import type { Clock } from "../domain/clock.js";

/**
 * The stage lead: how long before a due time the leader starts staging the slots due then. It is
 * the fixed lead (time for the worker to prepare, FireLoopOptions.stageLeadMs) plus the time the
 * jobs due with that slot take to write, from a measured cost per job, capped at maxStageLeadMs.
 */
export interface StageLead {
  /** The lead for the jobs due at `dueAt`, counted now (O(jobs due then)). */
  leadFor(dueAt: number): number;
  /** The lead to arm the wake-up timer with: counted at most every {@link LEAD_RECOUNT_MS} for one due time. */
  leadToArm(dueAt: number): number;
  /** A batch of `jobs` took `ms` to stage: refines the cost per job. */
  measured(jobs: number, ms: number): void;
}

/** Jobs due within this much of the earliest one are staged together, so count toward its lead. */
export const STAGE_GROUP_MS = 100;
/** Most due jobs counted to size a lead (beyond it the lead is at its maximum anyway). */
const STAGE_COUNT_CAP = 100_000;
/**
 * How long a counted lead stays good enough to arm the wake-up timer with: re-arming follows every
 * job change, and 10,000 jobs created for the same second must not mean 10,000 counts of up to
 * 10,000 entries. The fire itself counts afresh.
 */
export const LEAD_RECOUNT_MS = 250;
/** A first guess of the time staging takes per job (ms): a few hundred jobs per batch on the 2-core machine. */
export const INITIAL_STAGE_COST_MS = 0.25;
/** Batches smaller than this say too little about the cost per job to update the estimate. */
export const MIN_MEASURED_BATCH = 50;
/**
 * Weight of a new batch in the cost per job (an exponential moving average): about three batches
 * follow a lasting change of cost (a slower store, a busier machine), while one odd batch (a GC
 * pause inside it) moves the lead by under a third of its excess.
 */
export const COST_WEIGHT = 0.3;

/** Creates the estimator over `countDueBy(t, cap)`: how many jobs are due by `t`, counting at most `cap`. */
export function createStageLead(deps: {
  clock: Clock;
  countDueBy: (t: number, cap: number) => number;
  options: { stageLeadMs: number; maxStageLeadMs: number };
}): StageLead {
  const { clock, options } = deps;
  let costMs = INITIAL_STAGE_COST_MS;
  let armed: { dueAt: number; at: number; lead: number } | undefined;
  const leadFor = (dueAt: number) => Math.min(options.maxStageLeadMs, options.stageLeadMs + deps.countDueBy(dueAt + STAGE_GROUP_MS, STAGE_COUNT_CAP) * costMs);
  return {
    leadFor,
    leadToArm(dueAt) {
      const now = clock.now();
      if (armed?.dueAt !== dueAt || now - armed.at >= LEAD_RECOUNT_MS) armed = { dueAt, at: now, lead: leadFor(dueAt) };
      return armed.lead;
    },
    measured(jobs, ms) {
      if (jobs >= MIN_MEASURED_BATCH) costMs = (1 - COST_WEIGHT) * costMs + (COST_WEIGHT * ms) / jobs;
    },
  };
}
