import { describe, expect, it } from "vitest";
import { jitterOffset } from "../../src/domain/jitter.js";

const at = (s: string) => Date.parse(s);
const SLOT = at("2026-03-01T12:00:00Z");
const MINUTE = 60_000;

describe("jitter offset", () => {
  const cases: [string, { maxJitterMs: number; nextSlot: number | undefined }, (offset: number) => boolean][] = [
    ["no jitter configured means no offset", { maxJitterMs: 0, nextSlot: SLOT + MINUTE }, (o) => o === 0],
    ["the offset stays below the configured maximum", { maxJitterMs: 5000, nextSlot: SLOT + 10 * MINUTE }, (o) => o >= 0 && o < 5000],
    [
      "the offset never reaches the next slot when the maximum is larger than the interval",
      { maxJitterMs: 10 * MINUTE, nextSlot: SLOT + 1000 },
      (o) => o >= 0 && o < 1000,
    ],
    ["a last slot (nothing after it) is bounded by the maximum alone", { maxJitterMs: 30_000, nextSlot: undefined }, (o) => o >= 0 && o < 30_000],
    ["a next slot only one millisecond away leaves no room", { maxJitterMs: 5000, nextSlot: SLOT + 1 }, (o) => o === 0],
    ["a negative room (next slot before this one) gives no offset", { maxJitterMs: 5000, nextSlot: SLOT - MINUTE }, (o) => o === 0],
  ];
  it.each(cases)("%s", (_name, { maxJitterMs, nextSlot }, holds) => {
    const offset = jitterOffset("j_invoice", SLOT, maxJitterMs, nextSlot);
    expect(Number.isInteger(offset)).toBe(true);
    expect(holds(offset)).toBe(true);
  });

  it("two calls for the same job and slot agree, as every replica must", () => {
    expect(jitterOffset("j_invoice", SLOT, 60_000, undefined)).toBe(jitterOffset("j_invoice", SLOT, 60_000, undefined));
  });

  it("a fixed job and slot always give the same offset, across versions and platforms", () => {
    expect(jitterOffset("j_invoice", SLOT, 60_000, undefined)).toBe(44_679);
  });

  it("10,000 slots of an every-minute job all land in [slot, slot + bound) and spread over it", () => {
    const bound = 30_000;
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i++) {
      const slot = SLOT + i * MINUTE;
      const offset = jitterOffset("j_invoice", slot, bound, slot + MINUTE);
      expect(offset >= 0 && offset < bound).toBe(true);
      buckets[Math.floor((offset / bound) * 10)]!++;
    }
    // Uniform would put 1,000 in each tenth; 20% off in any tenth would mean a biased hash.
    for (const n of buckets) expect(Math.abs(n - 1000)).toBeLessThan(200);
  });

  it("different jobs due at the same slot spread out instead of firing together", () => {
    const offsets = new Set(Array.from({ length: 1000 }, (_, i) => jitterOffset(`j_${i}`, SLOT, 60_000, SLOT + 10 * MINUTE)));
    // 1,000 draws from 60,000 values: a few collide by chance, most do not.
    expect(offsets.size).toBeGreaterThan(980);
  });
});
