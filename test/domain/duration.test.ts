import { describe, expect, it } from "vitest";
import { parseDuration } from "../../src/domain/duration.js";

describe("parseDuration", () => {
  it.each<[string, number | undefined]>([
    ["500ms", 500],
    ["1s", 1000],
    ["1.5s", 1500],
    ["1m", 60_000],
    ["5m", 300_000],
    ["1h30m", 5_400_000],
    ["2h0m30s", 7_230_000],
    ["30d", 2_592_000_000],
    ["0s", 0],
    ["300s", 300_000],
    ["", undefined],
    ["5", undefined],
    ["-5s", undefined],
    ["5 s", undefined],
    ["s", undefined],
    ["1y", undefined],
    ["1h garbage", undefined],
    ["1e3s", undefined],
  ])("%j is %s ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
});
