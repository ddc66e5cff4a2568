import { create, fromJson, toJson, type JsonValue } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { JobSchema } from "../../gen/cronmesh/v1/job_pb.js";
import { applyFieldMask, jsonMaskPaths, setFieldPaths } from "../../src/api/field-mask.js";

/** [case, REST body, inferred paths] */
const JSON_CASES: [string, JsonValue, string[]][] = [
  ["a top-level scalar", { enabled: false }, ["enabled"]],
  ["a zero value is named (it clears the field)", { description: "" }, ["description"]],
  ["a partial target names its leaves", { target: { url: "http://x", timeout: "60s" } }, ["target.url", "target.timeout"]],
  ["a partial retry names its leaves", { retry: { max_attempts: 6 } }, ["retry.max_attempts"]],
  ["lowerCamelCase keys name proto fields", { retry: { maxAttempts: 6 }, historyLimit: 5 }, ["retry.max_attempts", "history_limit"]],
  [
    "maps and lists are leaves",
    { tags: { a: "b" }, tasks: [], target: { headers: {}, success_codes: [200] } },
    ["tags", "tasks", "target.headers", "target.success_codes"],
  ],
  ["timestamps and durations are leaves", { start_at: "2030-01-01T00:00:00Z", max_jitter: "5s" }, ["start_at", "max_jitter"]],
  ["null names the message (clears it)", { target: null, retry: { initial_backoff: null } }, ["target", "retry.initial_backoff"]],
  ["an empty object names the message", { retry: {} }, ["retry"]],
  ["a oneof member descends", { target: { auth: { basic: { password: "p" } } } }, ["target.auth.basic.password"]],
];

/** [case, message JSON (as a client would build it), inferred paths] */
const MESSAGE_CASES: [string, JsonValue, string[]][] = [
  ["default values are not named", { description: "", name: "n" }, ["name"]],
  ["an optional bool is named when present, even false", { enabled: false }, ["enabled"]],
  [
    "set leaves inside messages",
    { target: { url: "http://x", timeout: "60s" }, retry: { maxAttempts: 6 } },
    ["target.url", "target.timeout", "retry.max_attempts"],
  ],
  ["a set message with nothing set names itself", { retry: {} }, ["retry"]],
  ["maps and lists when not empty", { tags: { a: "b" }, target: { successCodes: [200], headers: {} } }, ["tags", "target.success_codes"]],
  ["a oneof member descends", { target: { auth: { apiKey: { header: "X-K" } } } }, ["target.auth.api_key.header"]],
];

const STORED = {
  name: "stored",
  description: "kept",
  target: {
    url: "http://stored/",
    method: "GET",
    headers: { "X-A": "1" },
    timeout: "30s",
    successCodes: [200, 204],
    auth: { basic: { username: "u", password: "p" } },
  },
  retry: { maxAttempts: 3, initialBackoff: "2s", maxBackoff: "60s", multiplier: 3 },
};

/** [case, update JSON, mask paths, expected job JSON after the update] */
const APPLY_CASES: [string, JsonValue, string[], JsonValue][] = [
  [
    "a leaf path keeps its siblings",
    { target: { url: "http://new/", timeout: "60s" } },
    ["target.url", "target.timeout"],
    { ...STORED, target: { ...STORED.target, url: "http://new/", timeout: "60s" } },
  ],
  ["a message path replaces it whole", { target: { url: "http://new/" } }, ["target"], { ...STORED, target: { url: "http://new/" } }],
  [
    "a path into the stored oneof member keeps its siblings",
    { target: { auth: { basic: { username: "v" } } } },
    ["target.auth.basic.username"],
    { ...STORED, target: { ...STORED.target, auth: { basic: { username: "v", password: "p" } } } },
  ],
  [
    "a path into another oneof member replaces auth whole",
    { target: { auth: { bearer: { token: "t" } } } },
    ["target.auth.bearer.token"],
    { ...STORED, target: { ...STORED.target, auth: { bearer: { token: "t" } } } },
  ],
  ["a path naming the auth clears it when the source has none", { target: {} }, ["target.auth"], { ...STORED, target: { ...STORED.target, auth: undefined } }],
  ["a zero value clears the field", { description: "" }, ["description"], { ...STORED, description: "" }],
];

const job = (json: JsonValue) => fromJson(JobSchema, json);
const jsonOf = (value: unknown) => JSON.parse(JSON.stringify(value)) as JsonValue;

describe("inferred update masks go down to leaf fields (AIP-134)", () => {
  it.each(JSON_CASES)("from a JSON body: %s", (_name, body, paths) => {
    expect(jsonMaskPaths(JobSchema, body as never)).toEqual(paths);
  });

  it.each(MESSAGE_CASES)("from a message: %s", (_name, json, paths) => {
    expect(setFieldPaths(JobSchema, job(json))).toEqual(paths);
  });

  it.each(APPLY_CASES)("applyFieldMask: %s", (_name, update, paths, expected) => {
    const stored = job(STORED);
    const merged = applyFieldMask(JobSchema, stored, job(update), paths, new Set());
    expect(toJson(JobSchema, merged)).toEqual(toJson(JobSchema, job(jsonOf(expected))));
    expect(toJson(JobSchema, stored)).toEqual(toJson(JobSchema, job(STORED)));
  });

  it("a path into a message the target lacks creates it", () => {
    const merged = applyFieldMask(JobSchema, create(JobSchema), job({ target: { auth: { bearer: { token: "t" } } } }), ["target.auth.bearer.token"], new Set());
    expect(toJson(JobSchema, merged)).toEqual({ target: { auth: { bearer: { token: "t" } } } });
  });

  it("skips output-only paths and refuses unknown ones naming update_mask", () => {
    const merged = applyFieldMask(JobSchema, job(STORED), job({ version: "9" }), ["version"], new Set(["version"]));
    expect(merged.version).toBe(0n);
    expect(() => applyFieldMask(JobSchema, job(STORED), job({}), ["target.nope"], new Set())).toThrow(expect.objectContaining({ field: "update_mask" }));
    expect(() => applyFieldMask(JobSchema, job(STORED), job({}), ["name.first"], new Set())).toThrow(expect.objectContaining({ field: "update_mask" }));
  });
});
