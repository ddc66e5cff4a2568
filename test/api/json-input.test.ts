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
  ["map and list values are checked and kept", { job: { tags: { a: "b" }, target: { url: "u", success_codes: [200, 204] } } },
    { job: { tags: { a: "b" }, target: { url: "u", success_codes: [200, 204] } } }],
  ["a oneof member", { job: { target: { url: "u", auth: { api_key: { key: "k" } } } } }, { job: { target: { url: "u", auth: { api_key: { key: "k" } } } } }],
  ["a snake_case field mask becomes lowerCamelCase", { update_mask: "retry.max_attempts, target.auth.api_key" },
    { update_mask: "retry.maxAttempts,target.auth.apiKey" }],
  ["a lowerCamelCase field mask stays", { updateMask: "retry.maxAttempts" }, { updateMask: "retry.maxAttempts" }],
  ["a proto duration stays as written", { job: { max_jitter: "1.5s", target: { url: "u", timeout: "300s" } } },
    { job: { max_jitter: "1.5s", target: { url: "u", timeout: "300s" } } }],
  ["Go-style durations become proto seconds", { job: { max_jitter: "500ms", catchup_window: "1h30m", target: { url: "u", timeout: "5m" } } },
    { job: { max_jitter: "0.5s", catchup_window: "5400s", target: { url: "u", timeout: "300s" } } }],
  ["a day count and a fraction of a unit", { job: { retry: { initial_backoff: "1.5m", max_backoff: "1d" } } },
    { job: { retry: { initial_backoff: "90s", max_backoff: "86400s" } } }],
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
