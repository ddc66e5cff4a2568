import { describe, expect, it } from "vitest";
import { Cancellation, NEVER_CANCELLED } from "../../src/domain/cancellation.js";

describe("Cancellation", () => {
  it("calls every listener once when cancelled, and later cancels do nothing", () => {
    const c = new Cancellation();
    const calls: string[] = [];
    c.onCancel(() => calls.push("a"));
    c.onCancel(() => calls.push("b"));
    c.onCancel(() => calls.push("c"));
    expect(c.cancelled).toBe(false);
    c.cancel();
    c.cancel();
    expect(c.cancelled).toBe(true);
    expect(calls.sort()).toEqual(["a", "b", "c"]);
  });

  it("calls a listener at once when it subscribes after the cancel", () => {
    const c = new Cancellation();
    c.cancel();
    let called = 0;
    c.onCancel(() => called++)();
    expect(called).toBe(1);
  });

  it("does not call a listener that unsubscribed, whichever slot it held", () => {
    const c = new Cancellation();
    const calls: string[] = [];
    const offFirst = c.onCancel(() => calls.push("first"));
    const offSecond = c.onCancel(() => calls.push("second"));
    c.onCancel(() => calls.push("third"));
    offFirst();
    offSecond();
    c.onCancel(() => calls.push("fourth"));
    c.cancel();
    expect(calls.sort()).toEqual(["fourth", "third"]);
  });

  it("never cancels the shared never-cancelled signal", () => {
    let called = false;
    NEVER_CANCELLED.onCancel(() => (called = true))();
    expect(NEVER_CANCELLED.cancelled).toBe(false);
    expect(called).toBe(false);
  });

  it("tells a hand-back (interrupt) from a cancel, and keeps a run cancelled for good as such", () => {
    const handedBack = new Cancellation();
    let called = 0;
    handedBack.onCancel(() => called++);
    handedBack.interrupt();
    expect([handedBack.cancelled, handedBack.interrupted, called]).toEqual([true, true, 1]);
    const cancelled = new Cancellation();
    cancelled.cancel();
    cancelled.interrupt();
    expect([cancelled.cancelled, cancelled.interrupted]).toEqual([true, false]);
    expect(NEVER_CANCELLED.interrupted).toBeFalsy();
  });
});
