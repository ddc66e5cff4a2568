import { describe, expect, it } from "vitest";
import { resumeAttempts, retryDelayMs, shouldRetry, type AttemptOutcome, type AttemptsResume } from "../../src/domain/backoff.js";
import type { RetrySpec } from "../../src/domain/job.js";
import type { AttemptRecord } from "../../src/domain/run.js";

const RETRY: RetrySpec = { maxAttempts: 5, initialBackoffMs: 500, maxBackoffMs: 10_000, multiplier: 2, retryOn: "on_failure" };

describe("retry delay", () => {
  const cases: [string, Partial<RetrySpec>, number, number][] = [
    ["the first retry waits the initial backoff", {}, 1, 500],
    ["the second retry waits initial × multiplier", {}, 2, 1000],
    ["the fourth retry waits initial × multiplier³", {}, 4, 4000],
    ["the delay stops growing at the maximum backoff", {}, 6, 10_000],
    ["a huge attempt number still waits the maximum, not Infinity", {}, 5000, 10_000],
    ["a multiplier of 1 keeps the delay constant", { multiplier: 1 }, 7, 500],
    ["a fractional multiplier grows gently", { multiplier: 1.5 }, 3, 1125],
    ["a zero initial backoff retries at once", { initialBackoffMs: 0 }, 3, 0],
    ["attempt 0 is treated as the first", {}, 0, 500],
  ];
  it.each(cases)("%s", (_name, retry, attempt, delay) => {
    expect(retryDelayMs({ ...RETRY, ...retry }, attempt)).toBe(delay);
  });
});

describe("whether to retry", () => {
  const failed = (o: Partial<AttemptOutcome>): AttemptOutcome => ({ ok: false, statusCode: 500, timedOut: false, cancelled: false, ...o });
  const cases: [string, Partial<RetrySpec>, number, AttemptOutcome, boolean][] = [
    ["a success is never retried", { retryOn: "always" }, 1, failed({ ok: true, statusCode: 200 }), false],
    ["a cancelled attempt is never retried", { retryOn: "always" }, 1, failed({ cancelled: true }), false],
    ["the last allowed attempt is never retried", {}, 5, failed({}), false],
    ["attempts beyond the maximum are never retried", {}, 6, failed({}), false],
    ["a single allowed attempt is never retried", { maxAttempts: 1 }, 1, failed({}), false],
    ["none never retries, even a 503", { retryOn: "none" }, 1, failed({ statusCode: 503 }), false],
    ["on_failure retries a network error (no response)", {}, 1, failed({ statusCode: 0 }), true],
    ["on_failure retries a timeout", {}, 1, failed({ statusCode: 0, timedOut: true }), true],
    ["on_failure retries 408 Request Timeout", {}, 1, failed({ statusCode: 408 }), true],
    ["on_failure retries 425 Too Early", {}, 1, failed({ statusCode: 425 }), true],
    ["on_failure retries 429 Too Many Requests", {}, 1, failed({ statusCode: 429 }), true],
    ["on_failure retries 500", {}, 1, failed({ statusCode: 500 }), true],
    ["on_failure retries 503", {}, 4, failed({ statusCode: 503 }), true],
    ["on_failure retries 599", {}, 1, failed({ statusCode: 599 }), true],
    ["on_failure does not retry 400", {}, 1, failed({ statusCode: 400 }), false],
    ["on_failure does not retry 404", {}, 1, failed({ statusCode: 404 }), false],
    ["on_failure does not retry 422", {}, 1, failed({ statusCode: 422 }), false],
    ["on_failure does not retry a 2xx outside the job's success codes", {}, 1, failed({ statusCode: 204 }), false],
    ["always retries 404", { retryOn: "always" }, 1, failed({ statusCode: 404 }), true],
    ["always retries a 2xx outside the job's success codes", { retryOn: "always" }, 1, failed({ statusCode: 204 }), true],
    ["always retries a timeout", { retryOn: "always" }, 2, failed({ statusCode: 0, timedOut: true }), true],
  ];
  it.each(cases)("%s", (_name, retry, attempt, outcome, retried) => {
    expect(shouldRetry({ ...RETRY, ...retry }, attempt, outcome)).toBe(retried);
  });
});

describe("where a run's attempts resume when it executes again", () => {
  const attempt = (number: number, error: string, interrupted = false): AttemptRecord => ({
    number,
    startedAt: 0,
    statusCode: error === "" ? 200 : 0,
    error,
    responseExcerpt: "",
    durationMs: 0,
    ...(interrupted ? { interrupted: true as const } : {}),
  });
  const cut = (n: number) => attempt(n, "interrupted", true);
  // [case, max_attempts, recorded attempts, expected]
  const cases: [string, number, AttemptRecord[], AttemptsResume][] = [
    ["a fresh run starts at attempt 1 with nothing counted", 3, [], { next: 1, counted: 0 }],
    ["an interrupted first attempt is numbered past but not counted", 1, [cut(1)], { next: 2, counted: 0 }],
    ["two interruptions in a row (two restarts) count nothing", 1, [cut(1), cut(2)], { next: 3, counted: 0 }],
    ["a failed attempt counts, the interrupted one after it does not", 3, [attempt(1, "HTTP 503"), cut(2)], { next: 3, counted: 1 }],
    ["failures checkpointed before a crash count", 3, [attempt(1, "HTTP 503"), attempt(2, "HTTP 503")], { next: 3, counted: 2 }],
    [
      "nothing is sent when the budget was spent before the final write was lost",
      2,
      [attempt(1, "HTTP 503"), attempt(2, "timed out")],
      { next: 3, counted: 2, done: { ok: false, error: "timed out" } },
    ],
    ["nothing is sent after a recorded success", 3, [attempt(1, "HTTP 503"), attempt(2, "")], { next: 3, counted: 2, done: { ok: true, error: "" } }],
    ["interrupted attempts never exhaust the budget", 2, [cut(1), attempt(2, "HTTP 503"), cut(3)], { next: 4, counted: 1 }],
    ["numbering follows the highest recorded number", 5, [attempt(4, "HTTP 500")], { next: 5, counted: 1 }],
  ];
  it.each(cases)("%s", (_name, maxAttempts, prior, expected) => {
    expect(resumeAttempts(prior, { ...RETRY, maxAttempts })).toEqual(expected);
  });
});
