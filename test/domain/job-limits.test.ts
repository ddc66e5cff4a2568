import { describe, expect, it } from "vitest";
import { CronError } from "../../src/domain/cron-error.js";
import type { HttpTargetSpec, JobSpec } from "../../src/domain/job.js";
import { checkScheduleInterval, FIELD_LIMITS as L, normalizeSpec } from "../../src/domain/job-validation.js";
import { createOutboundPolicy } from "../../src/domain/outbound-policy.js";
import { makeSpec } from "../support/fixtures.js";

const target = (t: Partial<HttpTargetSpec>): Partial<JobSpec> => ({ target: { ...makeSpec().target!, auth: undefined, ...t } });
const headers = (n: number, valueBytes = 1) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`X-H${i}`, "v".repeat(valueBytes)]));
const tasks = (n: number) => Array.from({ length: n }, (_, i) => ({ taskId: `t${i}`, name: "", dependsOn: [], handler: "h" }));

/** The field an invalid spec is refused on, or "ok". */
function refusedField(overrides: Partial<JobSpec>): string {
  try {
    normalizeSpec(makeSpec(overrides), createOutboundPolicy());
    return "ok";
  } catch (err) {
    return (err as CronError).field ?? "?";
  }
}

describe("every field has a bound: at it passes, beyond it is refused naming the field", () => {
  const cases: [string, Partial<JobSpec>, Partial<JobSpec>, string][] = [
    ["name", { name: "n".repeat(L.nameLength) }, { name: "n".repeat(L.nameLength + 1) }, "name"],
    ["description", { description: "d".repeat(L.descriptionLength) }, { description: "d".repeat(L.descriptionLength + 1) }, "description"],
    [
      "tag count",
      { tags: Object.fromEntries(Array.from({ length: L.tags }, (_, i) => [`k${i}`, "v"])) },
      { tags: Object.fromEntries(Array.from({ length: L.tags + 1 }, (_, i) => [`k${i}`, "v"])) },
      "tags",
    ],
    ["tag size", { tags: { ["k".repeat(L.tagLength)]: "v".repeat(L.tagLength) } }, { tags: { k: "v".repeat(L.tagLength + 1) } }, "tags"],
    ["schedule length", { schedule: `0 9 * * *${" ".repeat(L.scheduleLength - 9)}` }, { schedule: `0 9 * * *${" ".repeat(L.scheduleLength - 8)}` }, "schedule"],
    ["handler name", { handler: "h".repeat(L.identifierLength) }, { handler: "h".repeat(L.identifierLength + 1) }, "handler"],
    ["header count", target({ headers: headers(L.headers) }), target({ headers: headers(L.headers + 1) }), "target.headers"],
    [
      "header value size",
      target({ headers: { "X-Big": "v".repeat(L.headerValueBytes) } }),
      target({ headers: { "X-Big": "v".repeat(L.headerValueBytes + 1) } }),
      "target.headers.X-Big",
    ],
    [
      "all headers together",
      target({ headers: headers(3, L.headerValueBytes - 10) }),
      target({ headers: headers(5, L.headerValueBytes - 10) }),
      "target.headers",
    ],
    [
      "header name length",
      target({ headers: { ["H".repeat(L.headerNameLength)]: "v" } }),
      target({ headers: { ["H".repeat(L.headerNameLength + 1)]: "v" } }),
      "target.headers",
    ],
    [
      "URL length",
      target({ url: `http://127.0.0.1/${"a".repeat(L.urlLength - 17)}` }),
      target({ url: `http://127.0.0.1/${"a".repeat(L.urlLength - 16)}` }),
      "target.url",
    ],
    ["body size", target({ body: "b".repeat(L.bodyBytes) }), target({ body: "b".repeat(L.bodyBytes + 1) }), "target.body"],
    [
      "a credential's size",
      target({ auth: { kind: "bearer", token: "t".repeat(L.secretBytes) } }),
      target({ auth: { kind: "bearer", token: "t".repeat(L.secretBytes + 1) } }),
      "target.auth.bearer.token",
    ],
    [
      "a password's size",
      target({ auth: { kind: "basic", username: "u", password: "p".repeat(L.secretBytes) } }),
      target({ auth: { kind: "basic", username: "u", password: "p".repeat(L.secretBytes + 1) } }),
      "target.auth.basic.password",
    ],
    [
      "a username's size",
      target({ auth: { kind: "basic", username: "u".repeat(L.identifierLength), password: "p" } }),
      target({ auth: { kind: "basic", username: "u".repeat(L.identifierLength + 1), password: "p" } }),
      "target.auth.basic.username",
    ],
    [
      "accepted status codes",
      target({ successCodes: Array<number>(L.successCodes).fill(200) }),
      target({ successCodes: Array<number>(L.successCodes + 1).fill(200) }),
      "target.success_codes",
    ],
    ["task count", { tasks: tasks(L.tasks) }, { tasks: tasks(L.tasks + 1) }, "tasks"],
    [
      "a task's name",
      { tasks: [{ ...tasks(1)[0]!, name: "n".repeat(L.identifierLength) }] },
      { tasks: [{ ...tasks(1)[0]!, name: "n".repeat(L.identifierLength + 1) }] },
      "tasks[0].name",
    ],
    [
      "retry attempts",
      { retry: { ...makeSpec().retry, maxAttempts: L.maxAttempts } },
      { retry: { ...makeSpec().retry, maxAttempts: L.maxAttempts + 1 } },
      "retry.max_attempts",
    ],
    [
      "retry multiplier",
      { retry: { ...makeSpec().retry, multiplier: L.multiplier.max } },
      { retry: { ...makeSpec().retry, multiplier: L.multiplier.max + 0.5 } },
      "retry.multiplier",
    ],
    [
      "retry backoff",
      { retry: { ...makeSpec().retry, maxBackoffMs: L.durationMs } },
      { retry: { ...makeSpec().retry, maxBackoffMs: L.durationMs + 1 } },
      "retry.max_backoff",
    ],
    ["timeout", target({ timeoutMs: L.durationMs }), target({ timeoutMs: L.durationMs + 1 }), "target.timeout"],
    ["history", { historyLimit: L.historyLimit }, { historyLimit: L.historyLimit + 1 }, "history_limit"],
  ];
  it.each(cases)("%s", (_name, atBound, beyond, field) => {
    expect(refusedField(atBound)).toBe("ok");
    expect(refusedField(beyond)).toBe(field);
  });

  it("a target URL may not carry credentials, and a bad URL is not quoted back", () => {
    expect(refusedField(target({ url: "http://user:pw-in-url@127.0.0.1/x" }))).toBe("target.url");
    const err = (() => {
      try {
        normalizeSpec(makeSpec(target({ url: "not a url with pw-in-url" })), createOutboundPolicy());
      } catch (e) {
        return e as CronError;
      }
    })();
    expect(err?.message).toBe("target.url: is not a valid absolute URL");
  });

  it("header errors do not quote header values (some are credentials)", () => {
    try {
      normalizeSpec(makeSpec(target({ headers: { Authorization: `Bearer ${"s".repeat(L.headerValueBytes)}` } })), createOutboundPolicy());
    } catch (err) {
      expect((err as CronError).message).not.toContain("sss");
    }
  });
});

describe("checkScheduleInterval (MIN_SCHEDULE_INTERVAL)", () => {
  const cases: [string, string, number, boolean][] = [
    ["every second is fine at the default 1 s", "* * * * * *", 1000, true],
    ["every second is refused at 2 s", "* * * * * *", 2000, false],
    ["every 5 s passes at 5 s", "*/5 * * * * *", 5000, true],
    ["every 5 s is refused at 6 s", "*/5 * * * * *", 6000, false],
    ["twice a minute, 30 s apart, is refused at 31 s", "0,30 * * * * *", 31_000, false],
    ["59 s then 1 s across the minute is refused at 2 s", "0,59 0,1 * * * *", 2000, false],
    ["59 s then 1 s across the hour is refused at 2 s", "0,59 0,59 * * * *", 2000, false],
    ["once a minute by seconds field passes at 60 s", "15 * * * * *", 60_000, true],
    ["every minute passes at 60 s", "* * * * *", 60_000, true],
    ["every 2 minutes is refused at 3 minutes", "*/2 * * * *", 180_000, false],
    ["hourly passes at one hour", "@hourly", 3_600_000, true],
    ["hourly is refused at two hours", "@hourly", 7_200_000, false],
    ["daily across a DST change in its zone passes at 20 hours", "30 2 * * *", 72_000_000, true],
    ["0 turns the check off", "* * * * * *", 0, true],
  ];
  it.each(cases)("%s", (_name, schedule, minMs, ok) => {
    const spec = makeSpec({ schedule, timezone: "America/New_York" });
    if (ok) expect(() => checkScheduleInterval(spec, minMs)).not.toThrow();
    else expect(() => checkScheduleInterval(spec, minMs)).toThrow(expect.objectContaining({ code: "invalid_argument", field: "schedule" }));
  });

  it("one-shot jobs always pass", () => {
    expect(() => checkScheduleInterval(makeSpec({ schedule: "", runAt: Date.UTC(2030, 0, 1) }), 86_400_000)).not.toThrow();
  });
});
