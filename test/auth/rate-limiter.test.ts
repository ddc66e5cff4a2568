import { describe, expect, it } from "vitest";
import { createRateLimiter, takeToken, type Bucket } from "../../src/auth/rate-limiter.js";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const rate = { rps: 2, burst: 3 };

describe("takeToken (a token bucket)", () => {
  const cases: [string, Bucket | undefined, number, { tokens: number; waitMs: number }][] = [
    ["a new caller starts with a full bucket and spends one", undefined, T0, { tokens: 2, waitMs: 0 }],
    ["the last token is spent", { tokens: 1, at: T0 }, T0, { tokens: 0, waitMs: 0 }],
    ["an empty bucket refuses and says how long until a token (1 / 2 rps = 500 ms)", { tokens: 0, at: T0 }, T0, { tokens: 0, waitMs: 500 }],
    ["half a token left waits half as long", { tokens: 0.5, at: T0 }, T0, { tokens: 0.5, waitMs: 250 }],
    ["time refills at rps (500 ms = one token)", { tokens: 0, at: T0 }, T0 + 500, { tokens: 0, waitMs: 0 }],
    ["refill stops at the burst", { tokens: 0, at: T0 }, T0 + 60_000, { tokens: 2, waitMs: 0 }],
    ["a clock that steps back refills nothing", { tokens: 0, at: T0 }, T0 - 1000, { tokens: 0, waitMs: 500 }],
  ];
  it.each(cases)("%s", (_name, bucket, now, expected) => {
    const { bucket: after, waitMs } = takeToken(bucket, now, rate);
    expect({ tokens: after.tokens, waitMs }).toEqual(expected);
  });
});

describe("createRateLimiter", () => {
  it("keeps one bucket per key", () => {
    let now = T0;
    const limiter = createRateLimiter({ rps: 1, burst: 2 }, () => now);
    expect([limiter.take("a"), limiter.take("a"), limiter.take("a")]).toEqual([0, 0, 1000]);
    expect(limiter.take("b")).toBe(0);
    now += 1000;
    expect(limiter.take("a")).toBe(0);
  });
});
