import { describe, expect, it } from "vitest";
import { createClientHealth, shouldReplaceClient } from "../../src/store/mongo/client-health.js";

describe("shouldReplaceClient", () => {
  it.each([
    { failingSince: undefined, replacedAt: 0, now: 60_000, replace: false, why: "the last call was answered" },
    { failingSince: 50_000, replacedAt: 0, now: 60_000, replace: false, why: "failing for 10 s only" },
    { failingSince: 45_000, replacedAt: 0, now: 60_000, replace: true, why: "failing for 15 s, none answered" },
    { failingSince: 45_000, replacedAt: 50_000, now: 60_000, replace: false, why: "the client itself is 10 s old" },
    { failingSince: 30_000, replacedAt: 45_000, now: 60_000, replace: true, why: "still failing 15 s after the last replacement" },
  ])("$why: $replace", ({ failingSince, replacedAt, now, replace }) => {
    expect(shouldReplaceClient({ failingSince, replacedAt }, now, 15_000)).toBe(replace);
  });
});

describe("client health", () => {
  it("asks for a replacement once calls have failed, none answered, for the whole window, then again a window later", () => {
    let now = 0;
    const health = createClientHealth(() => now, 15_000);
    const at = (ms: number, answered: boolean) => {
      now = ms;
      if (answered) return health.answered();
      return health.unavailable();
    };
    expect([at(1000, false), at(10_000, false), at(15_999, false), at(16_000, false)]).toEqual([undefined, undefined, undefined, 15_000]);
    // The new client fails too (the server is still away): not replaced again before a window has passed.
    expect([at(20_000, false), at(30_999, false), at(31_000, false)]).toEqual([undefined, undefined, 15_000]);
    // One answered call ends the streak.
    at(32_000, true);
    expect([at(40_000, false), at(54_000, false), at(55_000, false)]).toEqual([undefined, undefined, 15_000]);
  });
});
