import { afterEach, describe, expect, it } from "vitest";
import { youngCollector } from "../../src/runtime/young-collector.js";

const runtime = globalThis as { gc?: unknown };
const original = runtime.gc;

describe("young collector", () => {
  afterEach(() => {
    runtime.gc = original;
  });

  it("is absent when the runtime exposes no gc (node without --expose-gc)", () => {
    delete runtime.gc;
    expect(youngCollector()).toBeUndefined();
  });

  it("asks the exposed gc for a young-generation collection only", () => {
    const calls: unknown[] = [];
    runtime.gc = (options: unknown) => calls.push(options);
    youngCollector()!();
    expect(calls).toEqual([{ type: "minor" }]);
  });
});
