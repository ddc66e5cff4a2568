import { describe, expect, it } from "vitest";
import type { ConcurrencyPolicy } from "../../src/domain/job.js";
import { decideOverlap, type OverlapDecision } from "../../src/domain/overlap.js";

describe("overlap policy", () => {
  const cases: [string, ConcurrencyPolicy, string[], OverlapDecision][] = [
    ["allow starts when nothing is running", "allow", [], { action: "start" }],
    ["allow starts alongside a running run", "allow", ["r_1"], { action: "start" }],
    ["allow starts alongside several running runs", "allow", ["r_1", "r_2"], { action: "start" }],
    ["forbid starts when nothing is running", "forbid", [], { action: "start" }],
    ["forbid skips while a run is running", "forbid", ["r_1"], { action: "skip", reason: "overlap" }],
    ["forbid skips while several runs are running", "forbid", ["r_1", "r_2"], { action: "skip", reason: "overlap" }],
    ["replace starts when nothing is running", "replace", [], { action: "start" }],
    ["replace cancels the running run and starts", "replace", ["r_1"], { action: "replace", cancel: ["r_1"] }],
    ["replace cancels every running run and starts", "replace", ["r_1", "r_2"], { action: "replace", cancel: ["r_1", "r_2"] }],
  ];
  it.each(cases)("%s", (_name, policy, running, decision) => {
    expect(decideOverlap(policy, running)).toEqual(decision);
  });

  it("replace returns its own list, so the caller's list can change safely", () => {
    const running = ["r_1"];
    const decision = decideOverlap("replace", running);
    running.push("r_2");
    expect(decision).toEqual({ action: "replace", cancel: ["r_1"] });
  });
});
