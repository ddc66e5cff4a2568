import { describe, expect, it } from "vitest";
import { createHeldRuns } from "../../src/scheduler/held-runs.js";
import { createFakeClock } from "../support/fake-clock.js";

const T0 = Date.parse("2026-03-01T12:00:00Z");

function setup() {
  const clock = createFakeClock(T0);
  const released: string[][] = [];
  const held = createHeldRuns<string>(clock, (items) => released.push(items));
  return { clock, held, released };
}

describe("held runs: accepted ahead of their due time, released at it", () => {
  it("releases each due time's runs together at that time, never before", () => {
    const { clock, held, released } = setup();
    expect([held.hold("a", T0 + 1000), held.hold("b", T0 + 1000), held.hold("c", T0 + 2000)]).toEqual([true, false, true]);
    expect([held.count(), held.nextAt()]).toEqual([3, T0 + 1000]);
    clock.advance(999);
    expect(released).toEqual([]);
    clock.advance(1);
    expect(released).toEqual([["a", "b"]]);
    expect([held.count(), held.nextAt(), held.has(T0 + 1000)]).toEqual([1, T0 + 2000, false]);
    clock.advance(1000);
    expect(released).toEqual([["a", "b"], ["c"]]);
    expect([held.count(), held.nextAt()]).toEqual([0, Infinity]);
  });

  it("takes a cancelled run out, forgetting a due time left empty (its alarm too)", () => {
    const { clock, held, released } = setup();
    held.hold("a", T0 + 1000);
    held.hold("b", T0 + 2000);
    expect([held.take("a", T0 + 1000), held.take("a", T0 + 1000), held.take("x", T0 + 2000)]).toEqual([true, false, false]);
    expect([held.has(T0 + 1000), held.count(), held.nextAt()]).toEqual([false, 1, T0 + 2000]);
    clock.advance(2000);
    expect(released).toEqual([["b"]]);
  });

  it("drains every held run at once when the node stops; no alarm fires after", () => {
    const { clock, held, released } = setup();
    held.hold("a", T0 + 1000);
    held.hold("b", T0 + 5000);
    expect(held.drain().sort()).toEqual(["a", "b"]);
    expect(held.count()).toBe(0);
    clock.advance(10_000);
    expect(released).toEqual([]);
  });
});
