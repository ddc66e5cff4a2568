import { describe, expect, it } from "vitest";
import { COST_WEIGHT, createStageLead, INITIAL_STAGE_COST_MS, LEAD_RECOUNT_MS, MIN_MEASURED_BATCH, STAGE_GROUP_MS } from "../../src/scheduler/stage-lead.js";
import { createFakeClock } from "../support/fake-clock.js";

const options = { stageLeadMs: 100, maxStageLeadMs: 5000 };

function setup(due: number) {
  const clock = createFakeClock(0);
  const counted: number[] = [];
  let jobs = due;
  const lead = createStageLead({ clock, options, countDueBy: (t) => (counted.push(t), jobs) });
  return { clock, lead, counted, setJobs: (n: number) => (jobs = n) };
}

describe("stage lead: how long before a due time its jobs start staging", () => {
  it.each([
    ["no job due with it: the fixed lead", 0, 100],
    ["1,000 jobs at the first guess of their cost", 1000, 100 + 1000 * INITIAL_STAGE_COST_MS],
    ["far more jobs than 5 s can stage: the cap", 1_000_000, 5000],
  ])("%s", (_name, jobs, expected) => {
    const { lead, counted } = setup(jobs);
    expect(lead.leadFor(60_000)).toBe(expected);
    expect(counted).toEqual([60_000 + STAGE_GROUP_MS]);
  });

  it("follows the measured cost per job, a batch weighing COST_WEIGHT; small batches say nothing", () => {
    const { lead } = setup(1000);
    lead.measured(MIN_MEASURED_BATCH - 1, 1000);
    expect(lead.leadFor(0)).toBe(100 + 1000 * INITIAL_STAGE_COST_MS);
    lead.measured(1000, 1000); // 1 ms per job
    const cost = (1 - COST_WEIGHT) * INITIAL_STAGE_COST_MS + COST_WEIGHT * 1;
    expect(lead.leadFor(0)).toBeCloseTo(100 + 1000 * cost, 6);
  });

  it("arms the timer with a lead counted at most every LEAD_RECOUNT_MS for one due time", () => {
    const { clock, lead, counted, setJobs } = setup(1000);
    const first = lead.leadToArm(60_000);
    setJobs(2000);
    clock.advance(LEAD_RECOUNT_MS - 1);
    expect(lead.leadToArm(60_000)).toBe(first);
    expect(lead.leadToArm(61_000)).toBe(100 + 2000 * INITIAL_STAGE_COST_MS);
    clock.advance(1);
    expect(lead.leadToArm(61_000)).toBe(100 + 2000 * INITIAL_STAGE_COST_MS);
    expect(counted).toHaveLength(2);
    clock.advance(LEAD_RECOUNT_MS);
    lead.leadToArm(61_000);
    expect(counted).toHaveLength(3);
  });
});
