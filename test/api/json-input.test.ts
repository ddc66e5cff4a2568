import { describe, expect, it } from "vitest";
import { UpdateJobRequestSchema, CreateJobRequestSchema } from "../../gen/cronmesh/v1/cron_service_pb.js";
import { normalizeJson, type Json } from "../../src/api/json-input.js";
import { CronError } from "../../src/domain/cron-error.js";

/** [case, request JSON, normalised JSON] */
const ACCEPTED: [string, Json, Json][] = [
  ["a lower-case enum name becomes the full name", { job: { concurrency_policy: "allow" } }, { job: { concurrency_policy: "CONCURRENCY_POLICY_ALLOW" } }],
  ["an enum short name in any case", { job: { misfirePolicy: "Catch_Up" } }, { job: { misfirePolicy: "MISFIRE_POLICY_CATCH_UP" } }],
  ["a full enum name stays", { job: { status: "JOB_STATUS_PAUSED" } }, { job: { status: "JOB_STATUS_PAUSED" } }],
  ["a known enum number", { job: { retry: { retry_on: 1 } } }, { job: { retry: { retry_on: "RETRY_ON_NONE" } } }],
  ["null stays null", { job: { target: null, concurrency_policy: null } }, { job: { target: null, concurrency_policy: null } }],
  ["an integer as a decimal string", { job: { history_limit: "5", version: "12" } }, { job: { history_limit: "5", version: "12" } }],
  ["a double as a string", { job: { retry: { multiplier: "2.5" } } }, { job: { retry: { multiplier: "2.5" } } }],
  [
    "map and list values are checked and kept",
    { job: { tags: { a: "b" }, target: { url: "u", success_codes: [200, 204] } } },
    { job: { tags: { a: "b" }, target: { url: "u", success_codes: [200, 204] } } },
  ],
  ["a oneof member", { job: { target: { url: "u", auth: { api_key: { key: "k" } } } } }, { job: { target: { url: "u", auth: { api_key: { key: "k" } } } } }],
  [
    "a snake_case field mask becomes lowerCamelCase",
    { update_mask: "retry.max_attempts, target.auth.api_key" },
    { update_mask: "retry.maxAttempts,target.auth.apiKey" },
  ],
  ["a lowerCamelCase field mask stays", { updateMask: "retry.maxAttempts" }, { updateMask: "retry.maxAttempts" }],
  [
    "a proto duration stays as written",
    { job: { max_jitter: "1.5s", target: { url: "u", timeout: "300s" } } },
    { job: { max_jitter: "1.5s", target: { url: "u", timeout: "300s" } } },
  ],
  [
    "Go-style durations become proto seconds",
    { job: { max_jitter: "500ms", catchup_window: "1h30m", target: { url: "u", timeout: "5m" } } },
    { job: { max_jitter: "0.5s", catchup_window: "5400s", target: { url: "u", timeout: "300s" } } },
  ],
  [
    "a day count and a fraction of a unit",
    { job: { retry: { initial_backoff: "1.5m", max_backoff: "1d" } } },
    { job: { retry: { initial_backoff: "90s", max_backoff: "86400s" } } },
  ],
  [
    "the largest int32 and int64",
    { job: { history_limit: 2147483647, version: "9223372036854775807" } },
    { job: { history_limit: 2147483647, version: "9223372036854775807" } },
  ],
  [
    "the smallest int32 and int64",
    { job: { history_limit: "-2147483648", version: "-9223372036854775808" } },
    { job: { history_limit: "-2147483648", version: "-9223372036854775808" } },
  ],
  ["a surrogate pair (an emoji)", { job: { name: "\ud83d\ude00" } }, { job: { name: "\ud83d\ude00" } }],
];

/** [case, request JSON, field named by the error] */
const REFUSED: [string, Json, string][] = [
  ["an unknown field", { job: { scheduel: "x" } }, "job.scheduel"],
  ["an unknown field of the request", { colour: 1 }, "colour"],
  ["an unknown enum name", { job: { concurrency_policy: "sometimes" } }, "job.concurrency_policy"],
  ["an unknown enum number", { job: { misfire_policy: 7 } }, "job.misfire_policy"],
  ["a wrong type inside a list element", { job: { tasks: [{ task_id: "a", target: { url: "u", method: 3 } }] } }, "job.tasks[0].target.method"],
  ["a string where a bool belongs", { job: { enabled: "true" } }, "job.enabled"],
  ["a fraction where an integer belongs", { job: { history_limit: 1.5 } }, "job.history_limit"],
  ["a number where a string belongs", { job: { name: 5 } }, "job.name"],
  ["a non-string map value", { job: { tags: { a: 1 } } }, "job.tags.a"],
  ["an object where a list belongs", { job: { tasks: {} } }, "job.tasks"],
  ["a malformed duration", { job: { max_jitter: "soon" } }, "job.max_jitter"],
  ["a duration with a unit Go-style parsing does not know", { job: { max_jitter: "5 minutes" } }, "job.max_jitter"],
  ["a Go-style duration with a sign", { job: { retry: { max_backoff: "-1m" } } }, "job.retry.max_backoff"],
  ["a duration without a unit", { job: { target: { url: "u", timeout: "30" } } }, "job.target.timeout"],
  ["a malformed time", { job: { run_at: "tomorrow" } }, "job.run_at"],
  ["an array where the message belongs", { job: [] }, "job"],
  ["an int32 above its range", { job: { history_limit: 2147483648 } }, "job.history_limit"],
  ["an int32 below its range, as a string", { job: { history_limit: "-2147483649" } }, "job.history_limit"],
  ["an int64 above its range (2^63)", { job: { version: "9223372036854775808" } }, "job.version"],
  ["a number too large for a double (1e400)", { job: { version: Infinity } }, "job.version"],
  ["an integer string with spaces", { job: { history_limit: " 1" } }, "job.history_limit"],
  ["an int64 string with an exponent", { job: { version: "1e3" } }, "job.version"],
  ["a lone surrogate in a string", { job: { name: "a\ud800" } }, "job.name"],
  ["a lone surrogate in a map value", { job: { tags: { t: "\udfff" } } }, "job.tags.t"],
  ["a field mask that is not a string", { update_mask: ["name"] }, "update_mask"],
  ["a value nested 10,000 deep where a string belongs", { job: { name: JSON.parse('{"a":'.repeat(10_000) + "1" + "}".repeat(10_000)) } }, "job.name"],
];

describe("normalizeJson reads caller JSON the same way on every protocol", () => {
  it.each(ACCEPTED)("accepts %s", (_name, input, expected) => {
    expect(normalizeJson(UpdateJobRequestSchema, input, "")).toEqual(expected);
  });

  it.each(REFUSED)("refuses %s naming the field", (_name, input, field) => {
    const err = (() => {
      try {
        normalizeJson(UpdateJobRequestSchema, input, "");
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(CronError);
    expect(err).toMatchObject({ code: "invalid_argument", field });
  });

  it("prefixes error paths with the given path (REST bodies bound to one field)", () => {
    expect(() => normalizeJson(CreateJobRequestSchema.field.job.message!, { colour: 1 }, "")).toThrow(/^colour: unknown field/);
  });
});
