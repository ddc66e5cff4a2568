import { describe, expect, it } from "vitest";
import { finalAttempt, retryCount, type AttemptRecord, type TaskResultRecord } from "../../src/domain/run.js";

const attempt = (number: number, startedAt: number, statusCode: number, extra: Partial<AttemptRecord> = {}): AttemptRecord => ({
  number,
  startedAt,
  finishedAt: startedAt + 5,
  statusCode,
  error: statusCode === 200 ? "" : `HTTP ${statusCode}`,
  responseExcerpt: `answer ${number}`,
  durationMs: 5,
  ...extra,
});
const task = (taskId: string, attempts: AttemptRecord[]): TaskResultRecord => ({ taskId, status: "succeeded", attempts, error: "" });

describe("a run's final attempt and retry count", () => {
  it.each<[string, AttemptRecord[], TaskResultRecord[], number | undefined, number]>([
    ["no attempt yet", [], [], undefined, 0],
    ["one attempt, no retry", [attempt(1, 10, 200)], [], 1, 0],
    ["the last of three attempts, two retries", [attempt(1, 10, 503), attempt(2, 20, 503), attempt(3, 30, 200)], [], 3, 2],
    ["an attempt cut short by a shutdown is no retry", [attempt(1, 10, 0, { interrupted: true }), attempt(2, 20, 200)], [], 2, 0],
    [
      "a DAG run: the task attempt that started last; retries summed over tasks",
      [],
      [task("a", [attempt(1, 10, 500), attempt(2, 40, 200)]), task("b", [attempt(1, 30, 503), attempt(2, 35, 200)])],
      2,
      2,
    ],
  ])("%s", (_name, attempts, taskResults, lastNumber, retries) => {
    const run = { attempts, taskResults };
    expect(finalAttempt(run)?.number).toBe(lastNumber);
    expect(retryCount(run)).toBe(retries);
  });

  it("takes the attempt that started last across tasks, with its status and answer", () => {
    const run = { attempts: [], taskResults: [task("a", [attempt(1, 50, 201)]), task("b", [attempt(1, 20, 500)])] };
    expect(finalAttempt(run)).toMatchObject({ statusCode: 201, responseExcerpt: "answer 1", startedAt: 50 });
  });
});
