import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createIdGenerator } from "../../src/domain/ids.js";
import { createFakeClock } from "../support/fake-clock.js";

describe("ids", () => {
  it("sort by creation time and stay strictly increasing within one millisecond", () => {
    const clock = createFakeClock("2026-03-01T00:00:00Z");
    const next = createIdGenerator(clock, randomBytes);
    const ids = Array.from({ length: 1000 }, (_, i) => {
      if (i % 100 === 0) clock.advance(1);
      return next("run");
    });
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[0]).toMatch(/^run_[0-9a-z]{26}$/);
  });

  it("stay increasing when the clock steps back", () => {
    const clock = createFakeClock("2026-03-01T00:00:00Z");
    const next = createIdGenerator(clock, randomBytes);
    const a = next("job");
    clock.set(Date.parse("2026-02-28T00:00:00Z"));
    expect(next("job") > a).toBe(true);
  });
});
