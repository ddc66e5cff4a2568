import { describe, expect, it } from "vitest";
import { createRunQueue } from "../../src/scheduler/run-queue.js";

interface Item {
  id: string;
  jobId: string;
  exclusive: boolean;
}

const item = (id: string, jobId: string, exclusive = false): Item => ({ id, jobId, exclusive });

/** Takes every startable item, in order. */
function takeAll(queue: ReturnType<typeof createRunQueue<Item>>): string[] {
  const ids: string[] = [];
  for (let next = queue.take(); next; next = queue.take()) ids.push(next.id);
  return ids;
}

describe("run queue", () => {
  it("lets runs of different jobs start in submission order", () => {
    const queue = createRunQueue<Item>();
    for (const [id, job] of [
      ["a1", "a"],
      ["b1", "b"],
      ["c1", "c"],
    ] as const)
      queue.push(item(id, job));
    expect(queue.waiting).toBe(3);
    expect(takeAll(queue)).toEqual(["a1", "b1", "c1"]);
    expect(queue.waiting).toBe(0);
  });

  it("overlaps runs of a job that allows it, oldest first", () => {
    const queue = createRunQueue<Item>();
    queue.push(item("a1", "a"));
    queue.push(item("a2", "a"));
    expect(takeAll(queue)).toEqual(["a1", "a2"]);
  });

  it("starts an exclusive run only once its job's running run is done", () => {
    const queue = createRunQueue<Item>();
    const first = item("a1", "a", true);
    queue.push(first);
    queue.push(item("a2", "a", true));
    queue.push(item("b1", "b", true));
    expect(takeAll(queue)).toEqual(["a1", "b1"]);
    expect(queue.waiting).toBe(1);
    queue.done(first);
    expect(takeAll(queue)).toEqual(["a2"]);
  });

  it("holds a shared run back while an exclusive run of its job executes, and the reverse", () => {
    const queue = createRunQueue<Item>();
    const exclusive = item("a1", "a", true);
    queue.push(exclusive);
    queue.push(item("a2", "a"));
    expect(takeAll(queue)).toEqual(["a1"]);
    queue.done(exclusive);
    const shared = item("a3", "a");
    queue.push(shared);
    queue.push(item("a4", "a", true));
    expect(takeAll(queue)).toEqual(["a2", "a3"]);
    queue.done(shared);
    expect(takeAll(queue)).toEqual([]);
    queue.done(item("a2", "a"));
    expect(takeAll(queue)).toEqual(["a4"]);
  });

  it("keeps working after thousands of jobs came and went", () => {
    const queue = createRunQueue<Item>();
    for (let round = 0; round < 3; round++) {
      const items = Array.from({ length: 5000 }, (_, i) => item(`${round}-${i}`, `job-${i}`, true));
      for (const it of items) queue.push(it);
      const taken = takeAll(queue);
      expect(taken).toHaveLength(5000);
      expect(taken[0]).toBe(`${round}-0`);
      for (const it of items) queue.done(it);
    }
    expect(queue.waiting).toBe(0);
  });
});
