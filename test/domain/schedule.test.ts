import { describe, expect, it } from "vitest";
import { CronError } from "../../src/domain/cron-error.js";
import { nextFireTimes, previousFireTimes, validateSchedule, validateTimezone } from "../../src/domain/schedule.js";
import { nextTriggerAt } from "../../src/domain/next-trigger.js";
import { makeSpec } from "../support/fixtures.js";

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

  it("a date-specific schedule finds its slot a year away, and on the 29th of February only in leap years", () => {
    expect(iso(nextFireTimes("0 30 12 15 3 *", "Europe/Belgrade", at("2026-03-15T11:31:00Z"), 2))).toEqual([
      "2027-03-15T11:30:00.000Z",
      "2028-03-15T11:30:00.000Z",
    ]);
    expect(iso(nextFireTimes("0 0 29 2 *", "UTC", at("2026-03-01T00:00:00Z"), 2))).toEqual(["2028-02-29T00:00:00.000Z", "2032-02-29T00:00:00.000Z"]);
  });

  it("stops at the until bound", () => {
    expect(nextFireTimes("0 * * * *", "UTC", at("2026-03-01T00:00:00Z"), 10, at("2026-03-01T02:00:00Z"))).toHaveLength(2);
  });
});

describe("next trigger of a job", () => {
  const now = at("2026-03-01T12:00:00Z");
  const cases: [string, Parameters<typeof makeSpec>[0], string | undefined][] = [
    ["a recurring job fires at its next slot", { schedule: "0 13 * * *", timezone: "UTC" }, "2026-03-01T13:00:00.000Z"],
    [
      "a job not started yet fires at its first slot after start_at",
      { schedule: "0 13 * * *", timezone: "UTC", startAt: at("2026-03-05T00:00:00Z") },
      "2026-03-05T13:00:00.000Z",
    ],
    [
      "a job fires exactly at start_at when that is a slot",
      { schedule: "0 13 * * *", timezone: "UTC", startAt: at("2026-03-05T13:00:00Z") },
      "2026-03-05T13:00:00.000Z",
    ],
    ["a job past its end_at never fires again", { schedule: "0 13 * * *", timezone: "UTC", endAt: at("2026-03-01T12:30:00Z") }, undefined],
    ["a one-shot job fires at run_at", { schedule: "", runAt: at("2026-04-01T00:00:00Z") }, "2026-04-01T00:00:00.000Z"],
    ["a one-shot job in the past still reports run_at for the misfire policy", { schedule: "", runAt: at("2026-01-01T00:00:00Z") }, "2026-01-01T00:00:00.000Z"],
  ];
  it.each(cases)("%s", (_name, spec, expected) => {
    const next = nextTriggerAt(makeSpec(spec), now);
    expect(next === undefined ? undefined : new Date(next).toISOString()).toBe(expected);
  });
});

describe("daylight-saving rule", () => {
  const cases: [string, string, string, string, number, string[]][] = [
    [
      "a fixed-hour slot skipped by spring forward fires at the first instant after the gap",
      "30 2 * * *",
      "America/New_York",
      "2026-03-07T12:00:00Z",
      2,
      ["2026-03-08T07:00:00.000Z", "2026-03-09T06:30:00.000Z"],
    ],
    [
      "a repeated wall-clock time fires once, at its first occurrence",
      "30 1 * * *",
      "America/New_York",
      "2026-10-31T12:00:00Z",
      2,
      ["2026-11-01T05:30:00.000Z", "2026-11-02T06:30:00.000Z"],
    ],
    [
      "several slots inside one gap collapse into a single fire",
      "15,45 2 * * *",
      "America/New_York",
      "2026-03-07T12:00:00Z",
      3,
      ["2026-03-08T07:00:00.000Z", "2026-03-09T06:15:00.000Z", "2026-03-09T06:45:00.000Z"],
    ],
    [
      "a slot in the gap and the slot at its end fire once together",
      "0 2,3 * * *",
      "America/New_York",
      "2026-03-07T12:00:00Z",
      3,
      ["2026-03-08T07:00:00.000Z", "2026-03-09T06:00:00.000Z", "2026-03-09T07:00:00.000Z"],
    ],
    [
      "a wildcard-hour expression skips wall-clock times that do not exist",
      "*/30 * * * *",
      "America/New_York",
      "2026-03-08T06:00:00Z",
      4,
      ["2026-03-08T06:30:00.000Z", "2026-03-08T07:00:00.000Z", "2026-03-08T07:30:00.000Z", "2026-03-08T08:00:00.000Z"],
    ],
    [
      "an hourly expression fires at both occurrences of the repeated hour",
      "0 * * * *",
      "America/New_York",
      "2026-11-01T04:30:00Z",
      4,
      ["2026-11-01T05:00:00.000Z", "2026-11-01T06:00:00.000Z", "2026-11-01T07:00:00.000Z", "2026-11-01T08:00:00.000Z"],
    ],
    [
      "a fixed hour with a stepped minute stays pinned to its hour at fall back",
      "*/20 1 * * *",
      "America/New_York",
      "2026-11-01T04:30:00Z",
      4,
      ["2026-11-01T05:00:00.000Z", "2026-11-01T05:20:00.000Z", "2026-11-01T05:40:00.000Z", "2026-11-02T06:00:00.000Z"],
    ],
    [
      "a fixed hour with a stepped minute fires once at the end of the gap",
      "*/20 2 * * *",
      "America/New_York",
      "2026-03-07T12:00:00Z",
      2,
      ["2026-03-08T07:00:00.000Z", "2026-03-09T06:00:00.000Z"],
    ],
    [
      "Lord Howe's half-hour gap moves a slot inside it to 02:30",
      "15 2 * * *",
      "Australia/Lord_Howe",
      "2026-10-03T00:00:00Z",
      2,
      ["2026-10-03T15:30:00.000Z", "2026-10-04T15:15:00.000Z"],
    ],
    [
      "Lord Howe's repeated half hour fires once",
      "45 1 * * *",
      "Australia/Lord_Howe",
      "2026-04-04T00:00:00Z",
      2,
      ["2026-04-04T14:45:00.000Z", "2026-04-05T15:15:00.000Z"],
    ],
    [
      "every ten minutes keeps real ten-minute spacing across Lord Howe's half-hour gap",
      "*/10 * * * *",
      "Australia/Lord_Howe",
      "2026-10-03T15:20:00Z",
      3,
      ["2026-10-03T15:30:00.000Z", "2026-10-03T15:40:00.000Z", "2026-10-03T15:50:00.000Z"],
    ],
    [
      "every ten minutes fires through Lord Howe's repeated half hour twice",
      "*/10 * * * *",
      "Australia/Lord_Howe",
      "2026-04-04T14:40:00Z",
      5,
      ["2026-04-04T14:50:00.000Z", "2026-04-04T15:00:00.000Z", "2026-04-04T15:10:00.000Z", "2026-04-04T15:20:00.000Z", "2026-04-04T15:30:00.000Z"],
    ],
    [
      "a six-field expression collapses the seconds inside the gap into one fire",
      "*/20 30 2 * * *",
      "America/New_York",
      "2026-03-08T06:00:00Z",
      3,
      ["2026-03-08T07:00:00.000Z", "2026-03-09T06:30:00.000Z", "2026-03-09T06:30:20.000Z"],
    ],
    [
      "Santiago's midnight that does not exist fires at 01:00",
      "0 0 * * *",
      "America/Santiago",
      "2026-09-05T12:00:00Z",
      2,
      ["2026-09-06T04:00:00.000Z", "2026-09-07T03:00:00.000Z"],
    ],
    [
      "Chatham's 03:00 inside its 02:45 gap fires at 03:45",
      "0 3 * * *",
      "Pacific/Chatham",
      "2026-09-26T00:00:00Z",
      2,
      ["2026-09-26T14:00:00.000Z", "2026-09-27T13:15:00.000Z"],
    ],
    [
      "29 February fires only in leap years",
      "0 0 29 2 *",
      "UTC",
      "2026-03-01T00:00:00Z",
      3,
      ["2028-02-29T00:00:00.000Z", "2032-02-29T00:00:00.000Z", "2036-02-29T00:00:00.000Z"],
    ],
    ["29 February skips 2100, which is not a leap year", "0 0 29 2 *", "UTC", "2096-03-01T00:00:00Z", 1, ["2104-02-29T00:00:00.000Z"]],
    [
      "the last Sunday of March (walked by cron-parser) follows the same rule",
      "30 2 * 3 0L",
      "Europe/Belgrade",
      "2026-03-01T00:00:00Z",
      1,
      ["2026-03-29T01:00:00.000Z"],
    ],
  ];
  it.each(cases)("%s (%s in %s)", (_name, expr, tz, after, count, expected) => {
    expect(iso(nextFireTimes(expr, tz, at(after), count))).toEqual(expected);
  });

  it("a wildcard-hour expression whose every slot falls in a gap never fires", () => {
    expect(nextFireTimes("30 2-3/4 * 3 0L", "Europe/Belgrade", at("2026-01-01T00:00:00Z"), 1)).toEqual([]);
  });
});

describe("fire times walked backwards", () => {
  const cases: [string, string, string, string][] = [
    ["slots collapsed into a gap come back once", "15,45 2 * * *", "America/New_York", "2026-03-07T00:00:00Z"],
    ["a repeated hour comes back twice for an hourly expression", "0 * * * *", "America/New_York", "2026-10-31T22:00:00Z"],
    ["a repeated wall-clock time comes back once for a fixed hour", "*/20 1 * * *", "America/New_York", "2026-10-30T00:00:00Z"],
    ["Lord Howe's half-hour shifts both ways", "*/15 1,2 * * *", "Australia/Lord_Howe", "2026-04-01T00:00:00Z"],
    ["a year boundary changes nothing", "0 0 * * *", "UTC", "2026-12-25T00:00:00Z"],
    ["seconds inside a gap", "*/20 30 2 * * *", "Europe/Belgrade", "2026-03-27T00:00:00Z"],
    ["months skipped whole, both ways", "0 9 1,31 1,3,12 *", "America/New_York", "2026-01-01T00:00:00Z"],
  ];
  it.each(cases)("%s (%s in %s)", (_name, expr, tz, from) => {
    const forward = nextFireTimes(expr, tz, at(from), 40);
    const last = forward.at(-1)!;
    expect(iso(previousFireTimes(expr, tz, last + 1, 40).reverse())).toEqual(iso(forward));
    expect(previousFireTimes(expr, tz, last + 1, 100, forward[0])).toHaveLength(40);
  });
});
