import { afterEach, describe, expect, it } from "vitest";
import { createDeadLetterExpiry, EXPIRY_SWEEP_MS } from "../../src/scheduler/dead-letter-expiry.js";
import { createSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { Store } from "../../src/store/store.js";
import { createFakeClock } from "../support/fake-clock.js";
import { testMetrics } from "../support/metrics.js";
import { makeRun, T0 } from "../support/fixtures.js";

const DAY = 86_400_000;

describe("dead-letter retention", () => {
  let store: Store;
  afterEach(async () => store?.close());

  /** Dead letters of one job that entered the queue at the given times. */
  async function deadLetters(...at: number[]) {
    store = createSqliteStore({ path: ":memory:" });
    await store.insertRuns(at.map((t, i) => makeRun(`run_${i}`, "job_1", t, { status: "failed", finishedAt: t, deadLetteredAt: t })));
  }

  it("deletes, on the leader's hourly sweep, the dead letters older than the retention, and counts them", async () => {
    await deadLetters(T0, T0 + DAY, T0 + 20 * DAY);
    const clock = createFakeClock(T0 + 30 * DAY + DAY / 2);
    const metrics = testMetrics();
    const expiry = createDeadLetterExpiry({
      store,
      clock,
      metrics,
      retentionMs: 30 * DAY,
      mayRun: () => true,
      onError: (err) => {
        throw err;
      },
    });
    expiry.start();
    clock.advance(EXPIRY_SWEEP_MS);
    await expect.poll(async () => (await store.listDeadLetters({ pageSize: 10 })).items.map((r) => r.runId)).toEqual(["run_2", "run_1"]);
    clock.advance(DAY);
    clock.advance(EXPIRY_SWEEP_MS);
    await expect.poll(async () => (await store.listDeadLetters({ pageSize: 10 })).items.map((r) => r.runId)).toEqual(["run_2"]);
    expiry.stop();
    const text = (await metrics.render()).body;
    expect(text).toMatch(/cronmesh_dead_letters_expired_total 2/);
  });

  it("leaves the queue alone on a replica that does not lead, and keeps redriven entries as history", async () => {
    await deadLetters(T0, T0 + 1);
    await store.markRedriven("run_1", "run_x", T0 + 2);
    const clock = createFakeClock(T0 + 60 * DAY);
    let leading = false;
    const expiry = createDeadLetterExpiry({
      store,
      clock,
      metrics: testMetrics(),
      retentionMs: 30 * DAY,
      mayRun: () => leading,
      onError: (err) => {
        throw err;
      },
    });
    expiry.start();
    clock.advance(EXPIRY_SWEEP_MS);
    await new Promise((r) => setTimeout(r, 20));
    expect(await store.getRun("run_0")).toBeDefined();
    leading = true;
    expect(await expiry.sweep()).toBe(1);
    expect(await store.getRun("run_0")).toBeUndefined();
    expect(await store.getRun("run_1")).toMatchObject({ redrivenByRunId: "run_x" });
    expiry.stop();
  });
});
