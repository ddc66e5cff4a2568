import { describe, expect, it } from "vitest";
import { createDelayQueue, createDelays } from "../../src/runtime/delay-queue.js";
import { createFakeClock } from "../support/fake-clock.js";

describe("delay queue", () => {
  it("calls each entry once its delay has passed, in the order they were added", () => {
    const clock = createFakeClock("2026-01-01T00:00:00Z");
    const queue = createDelayQueue(clock, 500);
    const calls: string[] = [];
    queue.add(() => calls.push("a"));
    clock.advance(100);
    queue.add(() => calls.push("b"));
    clock.advance(399);
    expect(calls).toEqual([]);
    clock.advance(1);
    expect(calls).toEqual(["a"]);
    clock.advance(100);
    expect(calls).toEqual(["a", "b"]);
  });

  it("never calls a cancelled entry, and keeps the ones behind it on time", () => {
    const clock = createFakeClock("2026-01-01T00:00:00Z");
    const queue = createDelayQueue(clock, 100);
    const calls: number[] = [];
    const first = queue.add(() => calls.push(1));
    clock.advance(10);
    queue.add(() => calls.push(2));
    first.cancel();
    first.cancel();
    clock.advance(100);
    expect(calls).toEqual([2]);
  });

  it("stays correct across compactions of thousands of cancelled entries", () => {
    const clock = createFakeClock("2026-01-01T00:00:00Z");
    const queue = createDelayQueue(clock, 1000);
    let fired = 0;
    for (let i = 0; i < 10_000; i++) {
      const handle = queue.add(() => fired++);
      if (i % 10 !== 0) handle.cancel();
      if (i % 100 === 0) clock.advance(1);
    }
    clock.advance(1000);
    expect(fired).toBe(1000);
    queue.add(() => fired++);
    clock.advance(1000);
    expect(fired).toBe(1001);
  });

  it("keeps one line per delay", () => {
    const clock = createFakeClock("2026-01-01T00:00:00Z");
    const delays = createDelays(clock);
    const calls: string[] = [];
    delays.after(300, () => calls.push("slow"));
    delays.after(100, () => calls.push("fast"));
    clock.advance(100);
    expect(calls).toEqual(["fast"]);
    clock.advance(200);
    expect(calls).toEqual(["fast", "slow"]);
  });
});
