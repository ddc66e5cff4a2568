import { describe, expect, it } from "vitest";
import { createRunBookkeeping, TRIM_CHUNK } from "../../src/scheduler/run-bookkeeping.js";
import type { HistoryLimit, RunOutcome, Store } from "../../src/store/store.js";
import { createFakeClock } from "../support/fake-clock.js";
import { makeRun, makeSpec, T0 } from "../support/fixtures.js";
import { flushTurns } from "../support/flush.js";

/** The store calls bookkeeping makes, recorded. */
function recordingStore() {
  const trims: HistoryLimit[][] = [];
  const outcomes: RunOutcome[][] = [];
  const store = {
    trimRuns: async (limits: HistoryLimit[]) => {
      trims.push(limits);
      return 0;
    },
    recordRunOutcomes: async (o: RunOutcome[]) => void outcomes.push(o),
  } as unknown as Store;
  return { store, trims, outcomes };
}

const settle = async () => {
  await flushTurns(20);
};

describe("run bookkeeping", () => {
  it("trims the histories of many jobs in chunks, each once the node's sends are done", async () => {
    const clock = createFakeClock(T0);
    const { store, trims } = recordingStore();
    let sendsBusy: Promise<void> | undefined;
    let sendsOver = () => undefined as void;
    const betweenSlots = () => sendsBusy ?? Promise.resolve();
    const bookkeeping = createRunBookkeeping(store, clock, { statsFlushMs: 0, trimIntervalMs: 30_000, betweenSlots }, () => undefined);
    const jobs = 2 * TRIM_CHUNK + 10;
    for (let i = 0; i < jobs; i++) bookkeeping.finished(makeRun(`run_${i}`, `job_${i}`, T0, { status: "succeeded" }), makeSpec({ historyLimit: 50 }));
    sendsBusy = new Promise<void>((resolve) => (sendsOver = resolve));
    clock.advance(30_000);
    await settle();
    // A slot is being sent: the trim waits.
    expect(trims).toHaveLength(0);
    sendsBusy = undefined;
    sendsOver();
    await settle();
    expect(trims.map((t) => t.length)).toEqual([TRIM_CHUNK, TRIM_CHUNK, 10]);
    expect(trims.flat().map((t) => t.jobId)).toEqual(Array.from({ length: jobs }, (_, i) => `job_${i}`));
    expect(trims.flat().every((t) => t.keep === 50)).toBe(true);
  });

  it("writes every pending trim and counter at shutdown, without waiting for the interval", async () => {
    const clock = createFakeClock(T0);
    const { store, trims, outcomes } = recordingStore();
    const bookkeeping = createRunBookkeeping(store, clock, { statsFlushMs: 60_000, trimIntervalMs: 30_000 }, () => undefined);
    bookkeeping.finished(makeRun("run_1", "job_1", T0, { status: "failed", durationMs: 7 }), makeSpec({ historyLimit: 5 }));
    await bookkeeping.flush();
    expect(trims).toEqual([[{ jobId: "job_1", keep: 5 }]]);
    expect(outcomes).toEqual([[{ jobId: "job_1", durationMs: 7, failed: true, status: "failed" }]]);
  });
});
