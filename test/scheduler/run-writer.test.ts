import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createRunWriter, RUN_WRITE_CHUNK, RunPreempted } from "../../src/scheduler/run-writer.js";
import { createSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { RunUpdate, Store } from "../../src/store/store.js";
import { createFakeClock } from "../support/fake-clock.js";
import { makeRun } from "../support/fixtures.js";

const T0 = Date.parse("2026-03-01T12:00:00Z");

describe("run writer", () => {
  let store: Store;
  /** The number of runs in each store call. */
  let calls: number[];
  beforeEach(async () => {
    const inner = createSqliteStore({ path: ":memory:" });
    await inner.init();
    calls = [];
    store = Object.assign(Object.create(inner) as Store, {
      updateRuns: (updates: RunUpdate[]) => {
        calls.push(updates.length);
        return inner.updateRuns(updates);
      },
    });
  });
  afterEach(() => store.close());

  it("writes the runs of one turn in store calls of at most RUN_WRITE_CHUNK, each run a compare-and-set", async () => {
    const runs = Array.from({ length: 300 }, (_, i) => makeRun(`run_${i}`, "j_1", T0, { status: "running", slotKey: `slot-${i}` }));
    await store.insertRuns(runs);
    const write = createRunWriter(store, createFakeClock(T0 + 5));
    const written = await Promise.all(runs.map((run) => write(run, { ...run, status: "succeeded" })));
    expect(calls).toEqual([RUN_WRITE_CHUNK, RUN_WRITE_CHUNK, 300 - 2 * RUN_WRITE_CHUNK]);
    expect(written.every((r, i) => r.revision === runs[i]!.revision + 1 && r.updatedAt === T0 + 5)).toBe(true);
    expect(await store.getRun("run_299")).toMatchObject({ status: "succeeded", revision: runs[299]!.revision + 1 });
    // A write from a state no longer stored: the run changed elsewhere.
    await expect(write(runs[0]!, { ...runs[0]!, status: "failed" })).rejects.toBeInstanceOf(RunPreempted);
  });
});
