import { describe, expect, it } from "vitest";
import { CronError } from "../../src/domain/cron-error.js";
import { nextFireTimes, validateSchedule, validateTimezone } from "../../src/domain/schedule.js";
import { nextTriggerAt } from "../../src/domain/next-trigger.js";
import { makeSpec } from "../store/fixtures.js";

const iso = (ms: number[]) => ms.map((t) => new Date(t).toISOString());
const at = (s: string) => Date.parse(s);

describe("schedule validation", () => {
  const accepted: [string, string][] = [
    ["a five-field expression is accepted", "0 8 * * *"],
    ["a six-field expression with seconds is accepted", "*/5 * * * * *"],
    ["step ranges are accepted", "0 9-17/2 * * 1-5"],
    ["the @daily macro is accepted", "@daily"],
    ["the @hourly macro is accepted in any case", "@HOURLY"],
    ["names of days and months are accepted", "0 0 1 JAN MON"],
  ];
  it.each(accepted)("%s (%s)", (_name, expr) => {
    expect(() => validateSchedule(expr, "UTC")).not.toThrow();
  });

  const refused: [string, string, RegExp][] = [
    ["an empty expression is refused", "  ", /must not be empty/],
    ["four fields are refused", "0 8 * *", /expected 5 or 6 fields/],
    ["seven fields are refused", "0 0 8 * * * 2026", /expected 5 or 6 fields/],
    ["an out-of-range minute is refused", "61 * * * *", /invalid cron expression/],
    ["February 31st is refused as impossible", "0 0 31 2 *", /invalid cron expression/],
    ["an unknown macro is refused", "@every 5m", /unknown macro/],
    ["hashed values are refused because replicas would disagree", "H 8 * * *", /hashed/],
  ];
  it.each(refused)("%s (%s)", (_name, expr, message) => {
    let err: unknown;
    try {
      validateSchedule(expr, "UTC");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CronError);
    expect((err as CronError).code).toBe("invalid_argument");
    expect((err as CronError).field).toBe("schedule");
    expect((err as CronError).message).toMatch(message);
  });

  it("an unknown time zone is refused naming the field", () => {
    expect(() => validateTimezone("Mars/Olympus")).toThrow(/timezone: unknown time zone/);
    expect(() => validateTimezone("Europe/Belgrade")).not.toThrow();
  });
});

describe("fire times", () => {
  it("every fifteen minutes in Belgrade starts at the next quarter hour", () => {
    expect(iso(nextFireTimes("*/15 * * * *", "Europe/Belgrade", at("2026-03-01T00:07:00Z"), 2))).toEqual([
      "2026-03-01T00:15:00.000Z",
      "2026-03-01T00:30:00.000Z",
    ]);
  });

  it("a daily 09:00 in New York moves by an hour across the March DST change", () => {
    expect(iso(nextFireTimes("0 9 * * *", "America/New_York", at("2026-03-07T00:00:00Z"), 2))).toEqual([
      "2026-03-07T14:00:00.000Z",
      "2026-03-08T13:00:00.000Z",
    ]);
  });

  it("stops at the until bound", () => {
    expect(nextFireTimes("0 * * * *", "UTC", at("2026-03-01T00:00:00Z"), 10, at("2026-03-01T02:00:00Z"))).toHaveLength(2);
  });
});

describe("next trigger of a job", () => {
  const now = at("2026-03-01T12:00:00Z");
  const cases: [string, Parameters<typeof makeSpec>[0], string | undefined][] = [
    ["a recurring job fires at its next slot", { schedule: "0 13 * * *", timezone: "UTC" }, "2026-03-01T13:00:00.000Z"],
    ["a job not started yet fires at its first slot after start_at", { schedule: "0 13 * * *", timezone: "UTC", startAt: at("2026-03-05T00:00:00Z") }, "2026-03-05T13:00:00.000Z"],
    ["a job fires exactly at start_at when that is a slot", { schedule: "0 13 * * *", timezone: "UTC", startAt: at("2026-03-05T13:00:00Z") }, "2026-03-05T13:00:00.000Z"],
    ["a job past its end_at never fires again", { schedule: "0 13 * * *", timezone: "UTC", endAt: at("2026-03-01T12:30:00Z") }, undefined],
    ["a one-shot job fires at run_at", { schedule: "", runAt: at("2026-04-01T00:00:00Z") }, "2026-04-01T00:00:00.000Z"],
    ["a one-shot job in the past still reports run_at for the misfire policy", { schedule: "", runAt: at("2026-01-01T00:00:00Z") }, "2026-01-01T00:00:00.000Z"],
  ];
  it.each(cases)("%s", (_name, spec, expected) => {
    const next = nextTriggerAt(makeSpec(spec), now);
    expect(next === undefined ? undefined : new Date(next).toISOString()).toBe(expected);
  });
});
