import { describe, expect, it } from "vitest";
import { createBatcher } from "../../src/runtime/batcher.js";

/** A batcher doubling numbers (refusing -1), recording the batches it was flushed with. */
function doubling(options: { maxBatch?: number } = {}) {
  const batches: number[][] = [];
  const call = createBatcher(async (items: number[]) => {
    batches.push(items);
    if (items.includes(-1)) throw new Error("refused");
    return items.map((n) => n * 2);
  }, options);
  return { call, batches };
}

describe("batcher", () => {
  it("flushes the calls of one turn together, each caller getting its own result", async () => {
    const b = doubling();
    const results = await Promise.all([1, 2, 3].map(b.call));
    expect(results).toEqual([2, 4, 6]);
    expect(b.batches).toEqual([[1, 2, 3]]);
  });

  it("splits a burst larger than maxBatch into flushes of at most that many, in order", async () => {
    const b = doubling({ maxBatch: 128 });
    const items = Array.from({ length: 300 }, (_, i) => i);
    const results = await Promise.all(items.map(b.call));
    expect(results).toEqual(items.map((n) => n * 2));
    expect(b.batches.map((x) => x.length)).toEqual([128, 128, 44]);
    expect(b.batches.flat()).toEqual(items);
  });

  it("rejects the callers of a failed flush only", async () => {
    const b = doubling({ maxBatch: 2 });
    const settled = await Promise.allSettled([1, -1, 3, 4].map(b.call));
    expect(settled.map((s) => s.status)).toEqual(["rejected", "rejected", "fulfilled", "fulfilled"]);
    expect(settled[2]).toEqual({ status: "fulfilled", value: 6 });
  });
});
