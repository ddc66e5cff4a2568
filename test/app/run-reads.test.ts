import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createRunCommands } from "../../src/app/runs.js";
import { createLocalCoordinator } from "../../src/coordination/local/local-coordinator.js";
import { createIdGenerator } from "../../src/domain/ids.js";
import type { RunRecord, RunStatus } from "../../src/domain/run.js";
import { createRunEvents } from "../../src/scheduler/run-events.js";
import { createSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { Store } from "../../src/store/store.js";
import { makeRun, T0 } from "../support/fixtures.js";
import { createFakeClock } from "../support/fake-clock.js";
import { testMetrics } from "../support/metrics.js";

/** A reader of every project, as without authentication. */
const ALL = { id: "reader", project: "*" };

describe("reading one run: the live state of a run executing, else the stored one", () => {
  const clock = createFakeClock(T0);
  const coordinator = createLocalCoordinator({ nodeId: "n1", address: "local", version: "t", clock });
  let store: Store;
  let live: RunRecord | undefined;

  const commands = (withLive: boolean) =>
    createRunCommands({
      store,
      clock,
      coordinator,
      ids: createIdGenerator(clock, randomBytes),
      dispatcher: { dispatch: () => undefined },
      canceller: { cancel: async () => undefined, stop: () => undefined },
      events: createRunEvents(),
      metrics: testMetrics(),
      jobChanged: () => undefined,
      live: withLive
        ? { find: async (q) => ({ runs: live && (!q.runIds || q.runIds.includes(live.runId)) ? [live] : [], complete: true }), stop: () => undefined }
        : undefined,
    });

  beforeEach(async () => {
    store = createSqliteStore({ path: ":memory:" });
    await store.init();
    live = undefined;
  });
  afterEach(async () => {
    await store.close();
  });

  const cases: [string, stored: RunStatus, live: RunStatus | undefined, answer: "live" | "stored"][] = [
    ["a running run's live state wins over its last checkpoint", "running", "running", "live"],
    ["a run the store still has as queued reads running once it started here", "queued", "running", "live"],
    ["a live final state not stored yet is not shown before the store has it", "running", "succeeded", "stored"],
    ["a run the store has final reads as stored, whatever this replica still holds", "cancelled", "running", "stored"],
    ["a run executing nowhere here reads as stored", "running", undefined, "stored"],
  ];
  it.each(cases)("%s", async (_name, storedStatus, liveStatus, answer) => {
    const stored = makeRun("run_1", "j_1", T0, { status: storedStatus, taskResults: [] });
    await store.insertRuns([stored]);
    if (liveStatus) live = { ...stored, status: liveStatus, taskResults: [{ taskId: "a", status: "running", attempts: [], startedAt: T0, error: "" }] };
    const got = await commands(true).get("run_1", ALL);
    expect(got).toEqual(answer === "live" ? live : (await store.getRun("run_1"))!);
  });

  it("reads the store alone when no live state is wired", async () => {
    await store.insertRuns([makeRun("run_1", "j_1", T0, { status: "queued" })]);
    live = { ...makeRun("run_1", "j_1", T0), status: "running" };
    expect((await commands(false).get("run_1", ALL)).status).toBe("queued");
  });

  it("answers not found for an unknown run even when a live state is wired", async () => {
    await expect(commands(true).get("run_nope", ALL)).rejects.toMatchObject({ code: "not_found" });
  });
});
