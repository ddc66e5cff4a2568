import { describe, expect, it } from "vitest";
import type { JobRecord } from "../../src/domain/job.js";
import { createJobCache } from "../../src/scheduler/job-cache.js";
import type { Store } from "../../src/store/store.js";
import { makeJob } from "../support/fixtures.js";

/** The store calls a job cache makes, served from a map and counted. */
function storeOf(jobs: Map<string, JobRecord>) {
  const reads = { jobs: 0 };
  const store = {
    getJob: async (jobId: string) => {
      reads.jobs++;
      return jobs.get(jobId);
    },
    getJobVersion: async () => undefined,
  } as unknown as Store;
  return { store, reads };
}

describe("job cache", () => {
  it("knows a job's spec without waiting once the job has been read, and reads it once", async () => {
    const job = makeJob("job_1");
    const { store, reads } = storeOf(new Map([["job_1", job]]));
    const cache = createJobCache(store);
    const run = { jobId: "job_1", jobVersion: 1 };
    expect(cache.knownSpecOf(run)).toBeUndefined();
    expect(await cache.specOf(run)).toBe(job.spec);
    expect(cache.knownSpecOf(run)).toBe(job.spec);
    expect(reads.jobs).toBe(1);
  });

  it("knows a spec offered by the fire loop, but not a run's older version", () => {
    const job = makeJob("job_1", { version: 3 });
    const cache = createJobCache(storeOf(new Map()).store);
    cache.offer(job);
    expect(cache.knownSpecOf({ jobId: "job_1", jobVersion: 3 })).toBe(job.spec);
    expect(cache.knownSpecOf({ jobId: "job_1", jobVersion: 2 })).toBeUndefined();
  });

  it("forgets what it knew of a job that changed", async () => {
    const jobs = new Map([["job_1", makeJob("job_1")]]);
    const { store, reads } = storeOf(jobs);
    const cache = createJobCache(store);
    await cache.specOf({ jobId: "job_1", jobVersion: 1 });
    cache.forget("job_1");
    expect(cache.knownSpecOf({ jobId: "job_1", jobVersion: 1 })).toBeUndefined();
    jobs.delete("job_1");
    expect(await cache.specOf({ jobId: "job_1", jobVersion: 1 })).toBeUndefined();
    expect(reads.jobs).toBe(2);
  });

  it("does not let an offer override a fresher read", async () => {
    const fresh = makeJob("job_1", { version: 2 });
    const cache = createJobCache(storeOf(new Map([["job_1", fresh]])).store);
    await cache.job("job_1");
    cache.offer(makeJob("job_1", { version: 1 }));
    expect(cache.knownSpecOf({ jobId: "job_1", jobVersion: 2 })).toBe(fresh.spec);
    expect(cache.knownSpecOf({ jobId: "job_1", jobVersion: 1 })).toBeUndefined();
  });
});
