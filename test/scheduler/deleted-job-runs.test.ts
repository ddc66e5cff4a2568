import { afterEach, describe, expect, it } from "vitest";
import { createDeletedJobRuns, DELETED_JOB_SWEEP_MS } from "../../src/scheduler/deleted-job-runs.js";
import { createSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { Store } from "../../src/store/store.js";
import { openMongoStoreForTest } from "../harness/mongo.js";
import { createFakeClock } from "../support/fake-clock.js";
import { testMetrics } from "../support/metrics.js";
import { makeJob, makeRun, T0 } from "../support/fixtures.js";

const DAY = 86_400_000;
const RETENTION = 7 * DAY;

async function open(kind: "sqlite" | "mongo"): Promise<{ store: Store; dispose: () => Promise<void> }> {
  if (kind === "mongo") return openMongoStoreForTest();
  const store = createSqliteStore({ path: ":memory:" });
  await store.init();
  return { store, dispose: () => store.close() };
}

describe.each(["sqlite", "mongo"] as const)("retention of deleted jobs' runs on %s", (kind) => {
  let dispose: (() => Promise<void>) | undefined;
  afterEach(async () => dispose?.());

  /** A job with three finished runs (one a dead letter) and one still running, deleted at `deletedAt`. */
  async function deletedJob(store: Store, jobId: string, deletedAt: number) {
    await store.createJob(makeJob(jobId, { createdAt: T0 - DAY }));
    await store.insertRuns([
      makeRun(`${jobId}_r0`, jobId, T0, { status: "succeeded", createdAt: T0 }),
      makeRun(`${jobId}_r1`, jobId, T0 + 1000, { status: "failed", deadLetteredAt: T0 + 1005, createdAt: T0 + 1000 }),
      makeRun(`${jobId}_r2`, jobId, T0 + 2000, { status: "cancelled", createdAt: T0 + 2000 }),
      makeRun(`${jobId}_r3`, jobId, T0 + 3000, { status: "running", createdAt: T0 + 3000 }),
    ]);
    await store.deleteJob(jobId, undefined, deletedAt);
  }
  const runsOf = async (store: Store, jobId: string) => (await store.listRuns({ jobId, pageSize: 10, oldestFirst: true })).items.map((r) => r.runId);

  it("deletes, on the leader's hourly sweep, the finished runs of jobs deleted longer ago than the retention, and counts them", async () => {
    const h = await open(kind);
    dispose = h.dispose;
    const { store } = h;
    await deletedJob(store, "job_old", T0 + DAY);
    await deletedJob(store, "job_recent", T0 + 5 * DAY);
    const clock = createFakeClock(T0 + DAY + RETENTION + 1000);
    const metrics = testMetrics();
    const sweeps = createDeletedJobRuns({
      store,
      clock,
      metrics,
      retentionMs: RETENTION,
      mayRun: () => true,
      onError: (err) => {
        throw err;
      },
    });
    sweeps.start();
    clock.advance(DELETED_JOB_SWEEP_MS);
    await expect.poll(() => runsOf(store, "job_old"), { timeout: 5000 }).toEqual(["job_old_r3"]);
    expect(await runsOf(store, "job_recent")).toHaveLength(4);
    // The deletion is forgotten after its runs are gone: on a slow store, a moment later.
    await expect.poll(() => store.listDeletedJobs(Number.MAX_SAFE_INTEGER, 10), { timeout: 5000 }).toEqual([{ jobId: "job_recent", deletedAt: T0 + 5 * DAY }]);
    sweeps.stop();
    expect((await metrics.render()).body).toMatch(/cronmesh_deleted_job_runs_purged_total 3/);
  });

  it("keeps the runs of a job re-created under the same id since, and of a deletion never carried out", async () => {
    const h = await open(kind);
    dispose = h.dispose;
    const { store } = h;
    await deletedJob(store, "job_again", T0 + DAY);
    await store.createJob(makeJob("job_again", { createdAt: T0 + 2 * DAY }));
    await store.insertRuns([makeRun("job_again_new", "job_again", T0 + 2 * DAY, { status: "succeeded", createdAt: T0 + 2 * DAY })]);
    // A deletion recorded while the job stayed (the store failed between the two writes), made
    // here by putting the job back as it was before.
    await store.createJob(makeJob("job_kept", { createdAt: T0 - DAY }));
    await store.insertRuns([makeRun("job_kept_r0", "job_kept", T0, { status: "succeeded", createdAt: T0 })]);
    await store.deleteJob("job_kept", undefined, T0 + DAY);
    await store.createJob(makeJob("job_kept", { createdAt: T0 - DAY }));
    const clock = createFakeClock(T0 + 30 * DAY);
    let leading = false;
    const sweeps = createDeletedJobRuns({
      store,
      clock,
      metrics: testMetrics(),
      retentionMs: RETENTION,
      mayRun: () => leading,
      onError: (err) => {
        throw err;
      },
    });
    sweeps.start();
    clock.advance(DELETED_JOB_SWEEP_MS);
    await new Promise((r) => setTimeout(r, 50));
    expect(await runsOf(store, "job_again")).toHaveLength(5);
    leading = true;
    expect(await sweeps.sweep()).toBe(3);
    expect(await runsOf(store, "job_again")).toEqual(["job_again_new", "job_again_r3"]);
    expect(await runsOf(store, "job_kept")).toEqual(["job_kept_r0"]);
    expect(await store.listDeletedJobs(Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
    sweeps.stop();
  });
});
