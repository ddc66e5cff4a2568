import { describe, expect, it } from "vitest";
import type { RunRecord } from "../../src/domain/run.js";
import { createRunEvents } from "../../src/scheduler/run-events.js";
import { createProgressContext, createRunProgress } from "../../src/scheduler/run-progress.js";
import type { RunWriter } from "../../src/scheduler/run-writer.js";
import { createFakeClock } from "../support/fake-clock.js";
import { makeRun, T0 } from "../support/fixtures.js";
import { flush } from "../support/flush.js";

const OPTIONS = { checkpointMs: 500, finalRetryMs: 1000, writeBatchMs: 0 };

/** A progress tracker over a writer that records what it is asked to store. */
function setup() {
  const clock = createFakeClock(T0);
  const events = createRunEvents();
  const writes: RunRecord[] = [];
  const write: RunWriter = async (stored, next) => {
    const record = { ...next, revision: stored.revision + 1 };
    writes.push(record);
    return record;
  };
  const context = createProgressContext(write, clock, events, OPTIONS);
  const progress = createRunProgress(makeRun("run_1", "job_1", T0), context);
  return { clock, events, writes, progress };
}

const never = () => false;

describe("run progress", () => {
  it("publishes every change at once while someone watches", () => {
    const { events, progress } = setup();
    const seen: string[] = [];
    events.subscribe({}, (run) => seen.push(`${run.status}:${run.attempts.length}`));
    progress.change({ status: "running", startedAt: T0 });
    progress.change({ attempts: [{ number: 1, startedAt: T0, finishedAt: T0 + 5, statusCode: 200, error: "", responseExcerpt: "ok", durationMs: 5 }] });
    expect(seen).toEqual(["running:0", "running:1"]);
  });

  it("folds unwatched changes into the state when it is read, none of them lost", () => {
    const { events, progress } = setup();
    expect(events.watched()).toBe(false);
    progress.change({ status: "running", startedAt: T0, nodeId: "n1" });
    progress.change({ nodeId: "n2" });
    expect(progress.current()).toMatchObject({ status: "running", startedAt: T0, nodeId: "n2" });
    // Read twice without a change in between: the same state.
    expect(progress.current()).toBe(progress.current());
  });

  it("writes the unwatched changes made so far at the checkpoint", async () => {
    const { clock, writes, progress } = setup();
    progress.change({ status: "running", startedAt: T0 });
    clock.advance(499);
    await flush();
    expect(writes).toHaveLength(0);
    clock.advance(1);
    await flush();
    expect(writes.map((w) => w.status)).toEqual(["running"]);
  });

  it("stores changes never read before in the final write", async () => {
    const { writes, progress } = setup();
    progress.change({ status: "running", startedAt: T0, nodeId: "n1" });
    const done = await progress.settle({ status: "succeeded", finishedAt: T0 + 10 }, never);
    expect(done).toMatchObject({ status: "succeeded", startedAt: T0, nodeId: "n1", finishedAt: T0 + 10 });
    expect(writes).toEqual([done]);
  });

  it("publishes changes made after a watcher arrives", () => {
    const { events, progress } = setup();
    progress.change({ status: "running", startedAt: T0 });
    const seen: RunRecord[] = [];
    events.subscribe({ jobId: "job_1" }, (run) => seen.push(run));
    progress.change({ nodeId: "n1" });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ status: "running", startedAt: T0, nodeId: "n1" });
  });
});
