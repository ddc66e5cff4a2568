import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { ConcurrencyPolicy, JobSchema, JobStatus, MisfirePolicy, RetryOn } from "../../gen/cronmesh/v1/job_pb.js";
import { jobToData, jobToYaml, parseJobYaml, replacedFields } from "../../src/cli/job-file.js";
import { CronError } from "../../src/domain/cron-error.js";

const FULL = `
name: invoice
description: bills
tags: {team: billing, urgent: ""}
schedule: "0 9 * * 1-5"
timezone: Europe/Belgrade
start_at: 2026-03-01T00:00:00Z
concurrency_policy: replace
misfire_policy: CATCH_UP
catchup_window: 1h30m
max_jitter: 500ms
target:
  url: http://127.0.0.1:9000/invoice
  method: PUT
  headers: {X-Tenant: acme}
  timeout: 30s
  success_codes: [200, 202]
  auth: {bearer: {token: "secret://billing"}}
retry:
  max_attempts: 3
  initial_backoff: 1.5s
  multiplier: 2.5
  retry_on: always
tasks:
  - task_id: extract
    target: {url: "http://127.0.0.1:9000/x", timeout: 2m}
history_limit: 50
`;

function invalid(text: string): CronError {
  try {
    parseJobYaml(text, "job.yaml");
  } catch (err) {
    if (err instanceof CronError) return err;
    throw err;
  }
  throw new Error("parsed");
}

describe("job files", () => {
  it("read proto field names, lower-case enums, durations with units and RFC 3339 times", () => {
    const job = parseJobYaml(FULL, "job.yaml");
    expect(job).toMatchObject({
      name: "invoice",
      description: "bills",
      tags: { team: "billing", urgent: "" },
      schedule: "0 9 * * 1-5",
      timezone: "Europe/Belgrade",
      startAt: timestampFromMs(Date.UTC(2026, 2, 1)),
      concurrencyPolicy: ConcurrencyPolicy.REPLACE,
      misfirePolicy: MisfirePolicy.CATCH_UP,
      catchupWindow: { seconds: 5400n, nanos: 0 },
      maxJitter: { seconds: 0n, nanos: 500_000_000 },
      historyLimit: 50,
      target: {
        url: "http://127.0.0.1:9000/invoice",
        method: "PUT",
        headers: { "X-Tenant": "acme" },
        timeout: { seconds: 30n },
        successCodes: [200, 202],
        auth: { kind: { case: "bearer", value: { token: "secret://billing" } } },
      },
      retry: { maxAttempts: 3, initialBackoff: { seconds: 1n, nanos: 500_000_000 }, multiplier: 2.5, retryOn: RetryOn.ALWAYS },
    });
    expect(job.tasks[0]).toMatchObject({ taskId: "extract", target: { timeout: { seconds: 120n } } });
  });

  it("read the JSON (camelCase) names too", () => {
    expect(parseJobYaml("name: a\nhistoryLimit: 7\nconcurrencyPolicy: allow\n", "job.yaml")).toMatchObject({
      historyLimit: 7,
      concurrencyPolicy: ConcurrencyPolicy.ALLOW,
    });
  });

  it.each([
    ["an unknown field", "name: a\nscheduel: x\n", "scheduel", "job.yaml: scheduel: unknown field"],
    ["an unknown nested field", "name: a\ntarget: {urll: x}\n", "target.urll", "job.yaml: target.urll: unknown field"],
    [
      "an unknown enum value",
      "concurrency_policy: sometimes\n",
      "concurrency_policy",
      'job.yaml: concurrency_policy: unknown value "sometimes"; expected one of allow, forbid, replace',
    ],
    ["a duration without unit", "max_jitter: 30\n", "max_jitter", 'job.yaml: max_jitter: write a duration with its unit, such as "30s" or "5m", not 30'],
    [
      "a malformed duration",
      "target: {url: x, timeout: 5 minutes}\n",
      "target.timeout",
      'job.yaml: target.timeout: "5 minutes" is not a duration such as 30s, 500ms, 5m or 1h30m',
    ],
    [
      "a duration in a task",
      "tasks: [{task_id: a, target: {timeout: 1y}}]\n",
      "tasks[0].target.timeout",
      'job.yaml: tasks[0].target.timeout: "1y" is not a duration such as 30s, 500ms, 5m or 1h30m',
    ],
    ["a malformed time", "run_at: tomorrow\n", "run_at", 'job.yaml: run_at: expected an RFC 3339 time such as "2026-03-26T08:00:00Z", got "tomorrow"'],
  ])("refuse %s, naming the field", (_name, text, field, message) => {
    const err = invalid(text);
    expect([err.code, err.field, err.message]).toEqual(["invalid_argument", field, message]);
  });

  it.each([
    ["two documents", "name: a\n---\nname: b\n", "job.yaml: holds 2 YAML documents; write one per file"],
    ["a list", "- name: a\n", "job.yaml: expected a mapping of Job fields"],
    ["an empty file", "# nothing\n", "job.yaml: expected a mapping of Job fields"],
    ["a syntax error", "name: [a\n", /^job\.yaml: .*line 2/],
    ["a wrong type", "tags: [a, b]\n", /^job\.yaml: tags: expected a JSON object/],
  ])("refuse %s", (_name, text, message) => {
    const err = invalid(text);
    expect(err.code).toBe("invalid_argument");
    expect(err.message).toMatch(message);
  });

  it("are written with job_id and version first, the fields a caller sets, short enums and durations", () => {
    const job = create(JobSchema, {
      ...parseJobYaml(FULL, "job.yaml"),
      jobId: "job_1",
      version: 4n,
      projectId: "default",
      status: JobStatus.PAUSED,
      enabled: false,
      pauseNote: "why",
      createdAt: timestampFromMs(0),
      runCount: 9n,
      nextTriggerAt: timestampFromMs(1000),
      lockAcquired: true,
    });
    const data = jobToData(job);
    expect(Object.keys(data)).toEqual([
      "job_id",
      "version",
      "project_id",
      "name",
      "description",
      "tags",
      "schedule",
      "timezone",
      "start_at",
      "status",
      "concurrency_policy",
      "misfire_policy",
      "catchup_window",
      "max_jitter",
      "target",
      "retry",
      "tasks",
      "history_limit",
    ]);
    expect(data).toMatchObject({
      version: 4,
      status: "paused",
      concurrency_policy: "replace",
      catchup_window: "1h30m",
      max_jitter: "500ms",
      start_at: "2026-03-01T00:00:00Z",
    });
    expect(data.retry).toEqual({ max_attempts: 3, initial_backoff: "1.5s", multiplier: 2.5, retry_on: "always" });
    expect((data.tasks as any)[0].target.timeout).toBe("2m");
    // What is written reads back as the same job, less what the server sets.
    const back = parseJobYaml(jobToYaml(job), "job.yaml");
    expect(back).toEqual(
      create(JobSchema, { ...job, createdAt: undefined, runCount: 0n, nextTriggerAt: undefined, lockAcquired: false, enabled: undefined, pauseNote: "" }),
    );
  });

  it("replace every settable field on apply, the project and status only when the file sets them", () => {
    const base = replacedFields(parseJobYaml("name: a\n", "job.yaml"));
    expect(base).toEqual([
      "name",
      "description",
      "tags",
      "schedule",
      "run_at",
      "timezone",
      "start_at",
      "end_at",
      "concurrency_policy",
      "misfire_policy",
      "catchup_window",
      "max_jitter",
      "handler",
      "target",
      "retry",
      "tasks",
      "history_limit",
      "start_deadline",
    ]);
    const named = replacedFields(parseJobYaml("name: a\nproject_id: p\nstatus: paused\nenabled: false\n", "job.yaml"));
    expect(named.filter((f) => !base.includes(f))).toEqual(["project_id", "status", "enabled"]);
  });
});
