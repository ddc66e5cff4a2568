import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CronError } from "../../src/domain/cron-error.js";
import type { JobRecord, JobSpec } from "../../src/domain/job.js";
import type { RunRecord } from "../../src/domain/run.js";
import type { Store } from "../../src/store/store.js";
import { T0, makeJob, makeRun } from "../support/fixtures.js";

/** How a contract run obtains a fresh, empty store and disposes of it. */
export interface StoreHarness {
  store: Store;
  dispose(): Promise<void>;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(CronError);
    return (err as CronError).code;
  }
  return "no error";
}

function nextVersion(job: JobRecord, changes: Partial<JobRecord> = {}): JobRecord {
  return { ...job, version: job.version + 1, updatedAt: job.updatedAt + 1000, updatedBy: "bob", changeReason: "update", ...changes };
}

/**
 * The one behavioural contract of the {@link Store} port. Every adapter runs it unchanged; each
 * `describe` gets a fresh store from `open`, so cases never see each other's data.
 */
export function describeStoreContract(adapter: string, open: () => Promise<StoreHarness>): void {
  describe(`Store contract: ${adapter}`, () => {
    let harness: StoreHarness;
    let store: Store;
    let seq = 0;
    /** Unique ids per case so cases share one store without clashing. */
    const id = (prefix: string) => `${prefix}_${String(++seq).padStart(4, "0")}`;

    beforeAll(async () => {
      harness = await open();
      store = harness.store;
    }, 120_000);
    afterAll(async () => {
      await harness?.dispose();
    });

    it("answers a ping while the database is up", async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it("initialises again on existing data, as every restart does", async () => {
      await store.createJob(makeJob(id("job")));
      await store.init();
      expect(await store.countJobs()).toBeGreaterThan(0);
    });

    describe("jobs", () => {
      it("returns a created job exactly as it was written", async () => {
        const job = makeJob(id("job"), {}, { runAt: undefined, startAt: T0, endAt: T0 + 86_400_000 });
        await store.createJob(job);
        expect(await store.getJob(job.jobId)).toEqual(job);
      });

      it("keeps optional fields absent when they were not set", async () => {
        const job = makeJob(id("job"), { nextTriggerAt: undefined }, { target: undefined, startAt: undefined, tasks: [] });
        await store.createJob(job);
        const read = await store.getJob(job.jobId);
        expect(read?.nextTriggerAt).toBeUndefined();
        expect(read?.spec.target).toBeUndefined();
        expect(read).toEqual(job);
      });

      it("rejects a second job with the same id as already_exists", async () => {
        const job = makeJob(id("job"));
        await store.createJob(job);
        expect(await codeOf(store.createJob(job))).toBe("already_exists");
      });

      it("refuses only the taken id among creates made at once, and stores the others with their versions", async () => {
        const taken = makeJob(id("job"));
        await store.createJob(taken);
        const fresh = [makeJob(id("job")), makeJob(id("job")), makeJob(id("job"))];
        const outcomes = await Promise.allSettled([store.createJob(fresh[0]!), store.createJob(taken), store.createJob(fresh[1]!), store.createJob(fresh[2]!)]);
        expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled", "fulfilled"]);
        expect(await codeOf(store.createJob(taken))).toBe("already_exists");
        for (const job of fresh) {
          expect(await store.getJob(job.jobId)).toEqual(job);
          expect((await store.listJobVersions(job.jobId, 10)).map((v) => v.version)).toEqual([1]);
        }
        expect(await store.getJob(taken.jobId)).toEqual(taken);
      });

      it("answers undefined for a job that does not exist", async () => {
        expect(await store.getJob("job_missing")).toBeUndefined();
      });

      it("updates a job when the expected version matches and keeps its counters", async () => {
        const job = makeJob(id("job"));
        await store.createJob(job);
        await store.recordRunOutcomes([{ jobId: job.jobId, durationMs: 120, failed: true }]);
        const next = nextVersion(job, { spec: { ...job.spec, schedule: "*/5 * * * *" }, status: "paused", pauseNote: "maintenance" });
        await store.updateJob(next, 1);
        const read = await store.getJob(job.jobId);
        expect(read?.version).toBe(2);
        expect(read?.spec.schedule).toBe("*/5 * * * *");
        expect(read?.status).toBe("paused");
        expect(read?.pauseNote).toBe("maintenance");
        expect(read?.stats).toMatchObject({ runCount: 1, failCount: 1, lastRunDurationMs: 120 });
      });

      it("refuses an update with a stale version as version_conflict", async () => {
        const job = makeJob(id("job"));
        await store.createJob(job);
        await store.updateJob(nextVersion(job), 1);
        expect(await codeOf(store.updateJob(nextVersion(job), 1))).toBe("version_conflict");
        expect((await store.getJob(job.jobId))?.version).toBe(2);
      });

      it("refuses an update of a missing job as not_found", async () => {
        expect(await codeOf(store.updateJob(nextVersion(makeJob("job_nope")), 1))).toBe("not_found");
      });

      it("lets exactly one of two racing updates with the same expected version win", async () => {
        const job = makeJob(id("job"));
        await store.createJob(job);
        const results = await Promise.allSettled([
          store.updateJob(nextVersion(job, { pauseNote: "a" }), 1),
          store.updateJob(nextVersion(job, { pauseNote: "b" }), 1),
        ]);
        expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
        const rejected = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
        expect((rejected.reason as CronError).code).toBe("version_conflict");
      });

      it("deletes a job once", async () => {
        const job = makeJob(id("job"));
        await store.createJob(job);
        expect(await store.deleteJob(job.jobId)).toBe(true);
        expect(await store.getJob(job.jobId)).toBeUndefined();
        expect(await store.deleteJob(job.jobId)).toBe(false);
      });

      it("gives a job re-created under a deleted id a history of its own", async () => {
        const job = makeJob(id("job"));
        await store.createJob(job);
        await store.updateJob(nextVersion(job, { spec: { ...job.spec, name: "old life" } }), 1);
        await store.deleteJob(job.jobId);
        const reborn = makeJob(job.jobId, {}, { name: "new life" });
        await store.createJob(reborn);
        const versions = await store.listJobVersions(job.jobId, 10);
        expect(versions.map((v) => [v.version, v.spec.name])).toEqual([[1, "new life"]]);
      });
    });

    describe("project isolation: every query filters by project in the query itself", () => {
      /** Two projects with one job each, the first with a second version and a run. */
      async function twoProjects() {
        const mine = makeJob(id("job"), {}, { projectId: "p_mine" });
        const theirs = makeJob(id("job"), { createdBy: "mallory" }, { projectId: "p_theirs" });
        await store.createJob(mine);
        await store.createJob(theirs);
        const v2 = await store.updateJob(nextVersion(mine, { nextTriggerAt: T0 + 1 }), 1);
        const run = makeRun(id("run"), mine.jobId, T0, { projectId: "p_mine", status: "running" });
        await store.insertRuns([run]);
        return { mine: v2, theirs, run };
      }

      it("reads a job, its versions and its runs only within their own project (or every project)", async () => {
        const { mine, run } = await twoProjects();
        expect(await store.getJob(mine.jobId, "p_theirs")).toBeUndefined();
        expect((await store.getJob(mine.jobId, "p_mine"))?.jobId).toBe(mine.jobId);
        expect((await store.getJob(mine.jobId))?.jobId).toBe(mine.jobId);
        expect(await store.listJobVersions(mine.jobId, 10, undefined, "p_theirs")).toEqual([]);
        expect((await store.listJobVersions(mine.jobId, 10, undefined, "p_mine")).map((v) => v.version)).toEqual([2, 1]);
        expect(await store.getJobVersion(mine.jobId, 1, "p_theirs")).toBeUndefined();
        expect((await store.getJobVersion(mine.jobId, 1, "p_mine"))?.version).toBe(1);
        expect(await store.getRun(run.runId, "p_theirs")).toBeUndefined();
        expect((await store.getRun(run.runId, "p_mine"))?.runId).toBe(run.runId);
      });

      it("deletes only within the project, and never moves a job to another project", async () => {
        const { mine, theirs } = await twoProjects();
        expect(await store.deleteJob(theirs.jobId, "p_mine")).toBe(false);
        expect(await store.getJob(theirs.jobId)).toBeDefined();
        const moved = nextVersion(mine, { spec: { ...mine.spec, projectId: "p_theirs" } });
        expect(await codeOf(store.updateJob(moved, mine.version))).toBe("not_found");
        expect((await store.getJob(mine.jobId))?.spec.projectId).toBe("p_mine");
        expect(await store.deleteJob(theirs.jobId, "p_theirs")).toBe(true);
      });

      it("counts and lists within the project: jobs, running runs, due jobs, owners", async () => {
        const { mine, theirs } = await twoProjects();
        expect(await store.countJobs("p_theirs")).toBeGreaterThanOrEqual(1);
        expect(await store.countRuns("running", "p_mine")).toBeGreaterThanOrEqual(1);
        expect(await store.countRuns("running", "p_nobody")).toBe(0);
        expect(await store.countJobs("p_nobody")).toBe(0);
        const due = await store.listDueJobs(Number.MAX_SAFE_INTEGER, 1000, "p_theirs");
        expect(due.map((j) => j.jobId)).toContain(theirs.jobId);
        expect(due.every((j) => j.spec.projectId === "p_theirs")).toBe(true);
        const owned = await store.listJobs({ owner: "mallory" }, { pageSize: 1000 });
        expect(owned.items.map((j) => j.jobId)).toContain(theirs.jobId);
        expect(owned.items.map((j) => j.jobId)).not.toContain(mine.jobId);
      });
    });

    describe("job versions", () => {
      it("keeps an append-only history, newest first, with who and why", async () => {
        const job = makeJob(id("job"));
        await store.createJob(job);
        const v2 = nextVersion(job, { spec: { ...job.spec, name: "renamed" } });
        await store.updateJob(v2, 1);
        const v3 = nextVersion(v2, { status: "paused", changeReason: "pause", updatedBy: "carol" });
        await store.updateJob(v3, 2);
        const versions = await store.listJobVersions(job.jobId, 10);
        expect(versions.map((v) => v.version)).toEqual([3, 2, 1]);
        expect(versions[0]).toMatchObject({ reason: "pause", createdBy: "carol", status: "paused" });
        expect(versions[1]?.spec.name).toBe("renamed");
        expect(versions[2]).toMatchObject({ reason: "create", createdBy: "alice", createdAt: T0 });
        expect(versions[2]?.spec).toEqual(job.spec);
      });

      it("pages through versions and reads one by number", async () => {
        let job = makeJob(id("job"));
        await store.createJob(job);
        for (let v = 2; v <= 5; v++) {
          const next = nextVersion(job, { pauseNote: `v${v}` });
          await store.updateJob(next, job.version);
          job = next;
        }
        expect((await store.listJobVersions(job.jobId, 2)).map((v) => v.version)).toEqual([5, 4]);
        expect((await store.listJobVersions(job.jobId, 2, 4)).map((v) => v.version)).toEqual([3, 2]);
        expect((await store.getJobVersion(job.jobId, 3))?.version).toBe(3);
        expect(await store.getJobVersion(job.jobId, 9)).toBeUndefined();
      });

      it("does not record a version for a rejected update", async () => {
        const job = makeJob(id("job"));
        await store.createJob(job);
        await codeOf(store.updateJob({ ...nextVersion(job), version: 3 }, 2));
        expect((await store.listJobVersions(job.jobId, 10)).map((v) => v.version)).toEqual([1]);
      });
    });

    describe("job listing", () => {
      const project = "p_list";
      const ids: string[] = [];
      beforeAll(async () => {
        const specs: Partial<JobSpec>[] = [
          { name: "Alpha report", tags: { team: "a" }, description: "" },
          { name: "beta sync", tags: { team: "b" }, description: "nightly ALPHA copy" },
          { name: "gamma", tags: { team: "a", tier: "gold" }, description: "" },
          { name: "delta", tags: {}, description: "" },
          { name: "epsilon", tags: { team: "b" }, description: "" },
        ];
        for (const [i, s] of specs.entries()) {
          const jobId = `list_${i}`;
          ids.push(jobId);
          await store.createJob(makeJob(jobId, { status: i === 3 ? "paused" : "active" }, { ...s, projectId: project }));
        }
      });

      it("walks every job once with a cursor, in id order", async () => {
        const seen: string[] = [];
        let after: string | undefined;
        for (let i = 0; i < 10; i++) {
          const page = await store.listJobs({ projectId: project }, { pageSize: 2, after });
          seen.push(...page.items.map((j) => j.jobId));
          after = page.nextCursor;
          if (!after) break;
        }
        expect(seen).toEqual(ids);
      });

      it("filters by status, tag value, tag key and text", async () => {
        const list = async (f: object) => (await store.listJobs({ projectId: project, ...f }, { pageSize: 50 })).items.map((j) => j.jobId);
        expect(await list({ status: "paused" })).toEqual(["list_3"]);
        expect(await list({ tag: "team=a" })).toEqual(["list_0", "list_2"]);
        expect(await list({ tag: "tier" })).toEqual(["list_2"]);
        expect(await list({ text: "alpha" })).toEqual(["list_0", "list_1"]);
        expect(await list({ text: "no such thing" })).toEqual([]);
      });

      it("serves an offset page that starts anywhere, not only at a page boundary", async () => {
        const page = await store.listJobsByPage({ projectId: project }, { page: 1, limit: 2, offset: 3 });
        expect(page.total).toBe(5);
        expect(page.items.map((j) => j.jobId)).toEqual(["list_3", "list_4"]);
      });

      it("treats text filters literally, not as patterns", async () => {
        const page = await store.listJobs({ projectId: project, text: ".*" }, { pageSize: 50 });
        expect(page.items).toEqual([]);
      });

      it("serves offset pages with the total", async () => {
        const page2 = await store.listJobsByPage({ projectId: project }, { page: 2, limit: 2 });
        expect(page2.total).toBe(5);
        expect(page2.items.map((j) => j.jobId)).toEqual(["list_2", "list_3"]);
        const page3 = await store.listJobsByPage({ projectId: project, tag: "team=b" }, { page: 1, limit: 10 });
        expect(page3).toMatchObject({ total: 2 });
      });

      it("counts jobs", async () => {
        expect(await store.countJobs()).toBeGreaterThanOrEqual(5);
      });

      it("serves every offset page, from either end, as the slice of the whole listing", async () => {
        const filters = [{}, { status: "active" as const }, { tag: "team" }, { text: "a" }, { text: "ALPHA" }, { owner: "alice" }];
        for (const f of filters) {
          const all = (await store.listJobs({ projectId: project, ...f }, { pageSize: 50 })).items.map((j) => j.jobId);
          for (let limit = 1; limit <= 6; limit++) {
            for (let page = 1; page <= Math.ceil(all.length / limit) + 1; page++) {
              const got = await store.listJobsByPage({ projectId: project, ...f }, { page, limit });
              expect({ f, limit, page, ids: got.items.map((j) => j.jobId), total: got.total }).toEqual({
                f,
                limit,
                page,
                ids: all.slice((page - 1) * limit, page * limit),
                total: all.length,
              });
            }
          }
          // An offset between pages, which wins over the page number.
          for (let offset = 0; offset <= all.length + 1; offset++) {
            const got = await store.listJobsByPage({ projectId: project, ...f }, { page: 1, limit: 4, offset });
            expect({ f, offset, ids: got.items.map((j) => j.jobId), total: got.total }).toEqual({
              f,
              offset,
              ids: all.slice(offset, offset + 4),
              total: all.length,
            });
          }
        }
      });
    });

    describe("job listing follows every change to the jobs", () => {
      const project = "p_follow";
      const list = async (f: object) => (await store.listJobs({ projectId: project, ...f }, { pageSize: 50 })).items.map((j) => j.jobId);
      const total = async (f: object) => (await store.listJobsByPage({ projectId: project, ...f }, { page: 1, limit: 1 })).total;

      it("lists and counts a job by its new status, tags, name and description after an update, and not after a delete", async () => {
        const job = makeJob("follow_1", {}, { projectId: project, name: "Nightly Export", description: "copies the ledger", tags: { team: "a" } });
        const other = makeJob("follow_2", {}, { projectId: project, name: "other", description: "", tags: { team: "b" } });
        await store.createJob(job);
        await store.createJob(other);
        expect(await total({ status: "active" })).toBe(2);
        expect(await list({ tag: "team=a" })).toEqual(["follow_1"]);
        expect(await list({ text: "export" })).toEqual(["follow_1"]);
        expect(await list({ text: "ledg" })).toEqual(["follow_1"]);
        const renamed = nextVersion(job, {
          status: "paused",
          spec: { ...job.spec, name: "Weekly Import", description: "reads the journal", tags: { team: "c", tier: "gold" } },
        });
        await store.updateJob(renamed, 1);
        expect([await total({ status: "active" }), await total({ status: "paused" }), await total({})]).toEqual([1, 1, 2]);
        expect([await list({ tag: "team=a" }), await list({ tag: "team=c" }), await list({ tag: "tier" })]).toEqual([[], ["follow_1"], ["follow_1"]]);
        expect([await list({ text: "export" }), await list({ text: "ledg" }), await list({ text: "import" }), await list({ text: "JOURNAL" })]).toEqual([
          [],
          [],
          ["follow_1"],
          ["follow_1"],
        ]);
        expect(await total({ text: "import" })).toBe(1);
        expect(await total({ tag: "team" })).toBe(2);
        await store.deleteJob("follow_1");
        expect([await total({}), await total({ status: "paused" }), await total({ tag: "team" }), await total({ text: "import" })]).toEqual([1, 0, 1, 0]);
        expect([await list({ tag: "tier" }), await list({ text: "weekly" })]).toEqual([[], []]);
        expect(await store.countJobs(project)).toBe(1);
      });

      it("counts a one-shot job the scheduler completed under its new status", async () => {
        const job = makeJob("follow_3", { nextTriggerAt: T0 }, { projectId: project, schedule: "", runAt: T0 });
        await store.createJob(job);
        const before = await total({ status: "completed" });
        expect(await store.advanceJobs([{ jobId: job.jobId, expectedNextTriggerAt: T0, nextTriggerAt: undefined, status: "completed" }])).toEqual([true]);
        expect(await total({ status: "completed" })).toBe(before + 1);
        expect(await list({ status: "completed" })).toContain(job.jobId);
        expect(await store.advanceJobs([{ jobId: "follow_2", expectedNextTriggerAt: T0 + 60_000, nextTriggerAt: T0 + 120_000 }])).toEqual([true]);
        expect((await store.getJob("follow_2"))?.status).toBe("active");
      });

      it("matches texts literally and case-insensitively, short or long, quotes and wildcards included", async () => {
        await store.createJob(makeJob("follow_4", {}, { projectId: project, name: 'Say "hi" 100%', description: "a_b*c" }));
        expect(await list({ text: '"HI"' })).toEqual(["follow_4"]);
        expect(await list({ text: "0%" })).toEqual(["follow_4"]);
        expect(await list({ text: "_b*" })).toEqual(["follow_4"]);
        expect(await list({ text: "a%b" })).toEqual([]);
        expect(await list({ text: 'y "h' })).toEqual(["follow_4"]);
        expect(await total({ text: '"hi"' })).toBe(1);
      });
    });

    describe("due jobs and advancing", () => {
      const base = T0 + 10 * 86_400_000;
      beforeAll(async () => {
        await store.createJob(makeJob("due_a", { nextTriggerAt: base + 3000 }));
        await store.createJob(makeJob("due_b", { nextTriggerAt: base + 1000 }));
        await store.createJob(makeJob("due_c", { nextTriggerAt: base + 2000, status: "paused" }));
        await store.createJob(makeJob("due_d", { nextTriggerAt: base + 9000 }));
        await store.createJob(makeJob("due_e", { nextTriggerAt: undefined }));
      });

      it("lists active jobs due before a time, earliest first, up to a limit", async () => {
        const due = (await store.listDueJobs(base + 5000, 100)).filter((j) => j.jobId.startsWith("due_"));
        expect(due.map((j) => j.jobId)).toEqual(["due_b", "due_a"]);
        const limited = await store.listDueJobs(base + 5000, 1);
        expect(limited).toHaveLength(1);
      });

      it("lists the same due jobs as references: id, version and next slot", async () => {
        const refs = (await store.listDueJobRefs(base + 5000, 100)).filter((r) => r.jobId.startsWith("due_"));
        expect(refs).toEqual([
          { jobId: "due_b", version: 1, nextTriggerAt: base + 1000 },
          { jobId: "due_a", version: 1, nextTriggerAt: base + 3000 },
        ]);
        expect(await store.listDueJobRefs(base + 5000, 1)).toHaveLength(1);
      });

      it("reads many jobs at once, leaving out ids that do not exist", async () => {
        const ids = ["due_a", "due_missing", "due_d", ...Array.from({ length: 1200 }, (_, i) => `nope_${i}`)];
        const jobs = await store.getJobs(ids);
        expect(jobs.map((j) => j.jobId).sort()).toEqual(["due_a", "due_d"]);
        expect(jobs.find((j) => j.jobId === "due_d")?.nextTriggerAt).toBe(base + 9000);
        expect(await store.getJobs([])).toEqual([]);
      });

      it("advances next_trigger_at only where the expected value still holds", async () => {
        const results = await store.advanceJobs([
          { jobId: "due_a", expectedNextTriggerAt: base + 3000, nextTriggerAt: base + 63_000, lastTriggeredAt: base + 3000, skipped: 2, dropped: 1 },
          { jobId: "due_b", expectedNextTriggerAt: base + 999, nextTriggerAt: base + 61_000 },
          { jobId: "due_missing", expectedNextTriggerAt: base, nextTriggerAt: base + 1 },
        ]);
        expect(results).toEqual([true, false, false]);
        const a = await store.getJob("due_a");
        expect(a?.nextTriggerAt).toBe(base + 63_000);
        expect(a?.stats).toMatchObject({ lastTriggeredAt: base + 3000, skippedCount: 2, droppedCount: 1 });
        expect(a?.version).toBe(1);
        expect((await store.getJob("due_b"))?.nextTriggerAt).toBe(base + 1000);
      });

      it("completes a one-shot job and clears its next trigger", async () => {
        const [ok] = await store.advanceJobs([
          { jobId: "due_d", expectedNextTriggerAt: base + 9000, nextTriggerAt: undefined, lastTriggeredAt: base + 9000, status: "completed" },
        ]);
        expect(ok).toBe(true);
        const d = await store.getJob("due_d");
        expect(d?.status).toBe("completed");
        expect(d?.nextTriggerAt).toBeUndefined();
        const again = await store.advanceJobs([{ jobId: "due_d", expectedNextTriggerAt: base + 9000, nextTriggerAt: base }]);
        expect(again).toEqual([false]);
      });

      it("advances a job with no next trigger when undefined is expected", async () => {
        expect(await store.advanceJobs([{ jobId: "due_e", expectedNextTriggerAt: undefined, nextTriggerAt: base + 5 }])).toEqual([true]);
        expect((await store.getJob("due_e"))?.nextTriggerAt).toBe(base + 5);
      });

      it("adds finished runs to the job's counters, many at once, ignoring deleted jobs", async () => {
        await store.recordRunOutcomes([{ jobId: "due_b", durationMs: 50, failed: false }]);
        await store.recordRunOutcomes([
          { jobId: "due_b", durationMs: 70, failed: true },
          { jobId: "due_gone", durationMs: 1, failed: true },
          { jobId: "due_a", durationMs: 9, failed: false },
        ]);
        expect((await store.getJob("due_b"))?.stats).toMatchObject({ runCount: 2, failCount: 1, lastRunDurationMs: 70 });
        expect((await store.getJob("due_a"))?.stats).toMatchObject({ runCount: 1, failCount: 0, lastRunDurationMs: 9 });
      });

      it("keeps the final state of the latest run counted, beside its duration", async () => {
        const job = makeJob(id("job"));
        await store.createJob(job);
        expect((await store.getJob(job.jobId))?.stats.lastRunStatus).toBeUndefined();
        await store.recordRunOutcomes([
          { jobId: job.jobId, durationMs: 5, failed: false, status: "succeeded" },
          { jobId: job.jobId, durationMs: 6, failed: true, status: "failed" },
        ]);
        expect((await store.getJob(job.jobId))?.stats).toMatchObject({ runCount: 2, lastRunDurationMs: 6, lastRunStatus: "failed" });
        await store.recordRunOutcomes([{ jobId: job.jobId, durationMs: 7, failed: false, status: "cancelled" }]);
        expect((await store.getJob(job.jobId))?.stats).toMatchObject({ runCount: 3, lastRunStatus: "cancelled" });
        expect((await store.getJobs([job.jobId]))[0]?.stats.lastRunStatus).toBe("cancelled");
      });

      it("adds runs shed without executing to the job's skipped counter alone", async () => {
        const [a, b] = [id("job"), id("job")];
        await store.createJob(makeJob(a, { nextTriggerAt: base + 3000 }));
        await store.createJob(makeJob(b, { nextTriggerAt: base + 3000 }));
        await store.recordRunOutcomes([{ jobId: a, durationMs: 5, failed: false }]);
        await store.advanceJobs([{ jobId: a, expectedNextTriggerAt: base + 3000, nextTriggerAt: base + 63_000, skipped: 2 }]);
        await store.recordRunOutcomes([
          { jobId: a, durationMs: 0, failed: false, skipped: true },
          { jobId: a, durationMs: 0, failed: false, skipped: true },
          { jobId: b, durationMs: 0, failed: false, skipped: true },
        ]);
        expect((await store.getJob(a))?.stats).toMatchObject({ runCount: 1, failCount: 0, lastRunDurationMs: 5, skippedCount: 4 });
        const stats = (await store.getJob(b))?.stats;
        expect(stats).toMatchObject({ runCount: 0, failCount: 0, skippedCount: 1 });
        expect(stats?.lastRunDurationMs).toBeUndefined();
      });
    });

    describe("deleted jobs", () => {
      it("records a timed deletion until it is forgotten, keeping the latest time of a job deleted again", async () => {
        const jobId = id("gone");
        await store.createJob(makeJob(jobId));
        expect(await store.deleteJob(jobId, undefined, T0 + 100)).toBe(true);
        await store.createJob(makeJob(jobId));
        expect(await store.deleteJob(jobId, undefined, T0 + 200)).toBe(true);
        const untimed = id("gone");
        await store.createJob(makeJob(untimed));
        expect(await store.deleteJob(untimed)).toBe(true);
        const mine = async (before: number) => (await store.listDeletedJobs(before, 1000)).filter((d) => d.jobId === jobId || d.jobId === untimed);
        expect(await mine(T0 + 200)).toEqual([]);
        expect(await mine(T0 + 201)).toEqual([{ jobId, deletedAt: T0 + 200 }]);
        await store.forgetDeletedJob(jobId, T0 + 100);
        expect(await mine(T0 + 201)).toHaveLength(1);
        await store.forgetDeletedJob(jobId, T0 + 200);
        expect(await mine(T0 + 201)).toEqual([]);
        expect(await store.deleteJob(jobId, undefined, T0 + 300)).toBe(false);
        expect(await mine(T0 + 301)).toEqual([]);
      });

      it("lists recorded deletions oldest first, up to a limit", async () => {
        const [a, b] = [id("gone"), id("gone")];
        const at = T0 - 50_000_000;
        for (const [jobId, t] of [
          [a, at + 2],
          [b, at + 1],
        ] as const) {
          await store.createJob(makeJob(jobId));
          await store.deleteJob(jobId, undefined, t);
        }
        expect((await store.listDeletedJobs(at + 3, 2)).map((d) => d.jobId)).toEqual([b, a]);
        expect(await store.listDeletedJobs(at + 3, 1)).toEqual([{ jobId: b, deletedAt: at + 1 }]);
        await store.forgetDeletedJob(a, at + 2);
        await store.forgetDeletedJob(b, at + 1);
      });
    });

    describe("runs", () => {
      it("inserts a run once per slot and adopts the existing run on a repeat", async () => {
        const jobId = id("job");
        const first = makeRun(id("run"), jobId, T0);
        const [a] = await store.insertRuns([first]);
        expect(a).toEqual({ run: first, inserted: true });
        const [b] = await store.insertRuns([makeRun(id("run"), jobId, T0)]);
        expect(b?.inserted).toBe(false);
        expect(b?.run.runId).toBe(first.runId);
        expect(await store.getRun(first.runId)).toEqual(first);
      });

      it("skips reading back the holders of taken slots when not asked to adopt them", async () => {
        const jobId = id("job");
        const first = makeRun(id("run"), jobId, T0);
        await store.insertRuns([first]);
        const second = makeRun(id("run"), jobId, T0);
        const third = makeRun(id("run"), jobId, T0 + 1000);
        const results = await store.insertRuns([second, third], { adopt: false });
        expect(results).toEqual([
          { run: second, inserted: false },
          { run: third, inserted: true },
        ]);
        expect(await store.getRun(second.runId)).toBeUndefined();
      });

      it("lets only one of many racing inserts of a slot win", async () => {
        const jobId = id("job");
        const results = await Promise.all(Array.from({ length: 8 }, () => store.insertRuns([makeRun(id("run"), jobId, T0 + 5000)])));
        const inserted = results.flat().filter((r) => r.inserted);
        expect(inserted).toHaveLength(1);
        expect(new Set(results.flat().map((r) => r.run.runId)).size).toBe(1);
      });

      it("inserts a large batch with duplicates inside it", async () => {
        const jobId = id("job");
        const runs = Array.from({ length: 600 }, (_, i) => makeRun(`${id("run")}`, jobId, T0 + (i % 500) * 1000));
        const results = await store.insertRuns(runs);
        expect(results).toHaveLength(600);
        expect(results.filter((r) => r.inserted)).toHaveLength(500);
        results.forEach((r, i) => expect(r.run.scheduledAt).toBe(runs[i]?.scheduledAt));
      });

      it("keeps the same slot of different jobs apart", async () => {
        const results = await store.insertRuns([makeRun(id("run"), id("job"), T0), makeRun(id("run"), id("job"), T0)]);
        expect(results.map((r) => r.inserted)).toEqual([true, true]);
      });

      it("keeps a run's trace context through insert, adoption, update and listing", async () => {
        const jobId = id("job");
        const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        const run = makeRun(id("run"), jobId, T0, { traceId, traceParent: `00-${traceId}-00f067aa0ba902b7-01` });
        await store.insertRuns([run]);
        const [adopted] = await store.insertRuns([makeRun(id("run"), jobId, T0)]);
        expect(adopted?.run).toEqual(run);
        const running = { ...run, status: "running" as const, revision: 2 };
        await store.updateRun(running, 1);
        expect(await store.getRun(run.runId)).toEqual(running);
        expect((await store.listRuns({ jobId, pageSize: 10 })).items).toEqual([running]);
      });

      it("updates a run by revision and refuses a stale revision", async () => {
        const run = makeRun(id("run"), id("job"), T0);
        await store.insertRuns([run]);
        const running = {
          ...run,
          status: "running" as const,
          revision: 2,
          startedAt: T0 + 5,
          nodeId: "n1",
          attempts: [{ number: 1, startedAt: T0 + 5, finishedAt: T0 + 9, statusCode: 503, error: "HTTP 503", responseExcerpt: "busy", durationMs: 4 }],
        };
        await store.updateRun(running, 1);
        expect(await store.getRun(run.runId)).toEqual(running);
        expect(await codeOf(store.updateRun({ ...running, revision: 2 }, 1))).toBe("version_conflict");
        expect(await codeOf(store.updateRun({ ...makeRun("run_nope", "j", T0), revision: 2 }, 1))).toBe("not_found");
      });

      it("applies a batch of run updates item by item, reporting stale ones as false", async () => {
        const jobId = id("job");
        const a = makeRun(id("run"), jobId, T0);
        const b = makeRun(id("run"), jobId, T0 + 1000);
        await store.insertRuns([a, b]);
        const ok = await store.updateRuns([
          { run: { ...a, status: "running", revision: 2 }, expectedRevision: 1 },
          { run: { ...b, status: "running", revision: 6 }, expectedRevision: 5 },
          { run: { ...makeRun("run_nope", jobId, T0 + 2000), revision: 2 }, expectedRevision: 1 },
        ]);
        expect(ok).toEqual([true, false, false]);
        expect((await store.getRun(a.runId))?.status).toBe("running");
        expect((await store.getRun(b.runId))?.status).toBe("queued");
      });

      it("lists runs newest first with filters and a cursor", async () => {
        const jobId = id("job");
        const runs = Array.from({ length: 5 }, (_, i) =>
          makeRun(`runlist_${jobId}_${i}`, jobId, T0 + i * 1000, i % 2 ? { status: "failed", deadLetteredAt: T0 + i * 1000 } : { status: "succeeded" }),
        );
        await store.insertRuns(runs);
        const first = await store.listRuns({ jobId, pageSize: 3 });
        expect(first.items.map((r) => r.runId)).toEqual([4, 3, 2].map((i) => `runlist_${jobId}_${i}`));
        const second = await store.listRuns({ jobId, pageSize: 3, before: first.nextCursor });
        expect(second.items.map((r) => r.runId)).toEqual([1, 0].map((i) => `runlist_${jobId}_${i}`));
        expect(second.nextCursor).toBeUndefined();
        const dead = await store.listDeadLetters({ jobId, pageSize: 10 });
        expect(dead.items.map((r) => r.runId)).toEqual([3, 1].map((i) => `runlist_${jobId}_${i}`));
        const ok = await store.listRuns({ jobId, status: "succeeded", pageSize: 10 });
        expect(ok.items).toHaveLength(3);
        expect(await store.countRuns("failed")).toBeGreaterThanOrEqual(2);
      });

      describe("listing with filters, order, offsets and totals", () => {
        const jobId = "listing_job";
        const rid = (i: number) => `runq_${String(i).padStart(2, "0")}`;
        const slot = (i: number) => T0 + i * 60_000;
        /** 12 runs: triggers and states in a pattern; 2 and 7 are dead letters, 7 redriven. */
        beforeAll(async () => {
          const triggers = ["schedule", "manual", "schedule", "backfill"] as const;
          const states = ["succeeded", "failed", "running", "queued"] as const;
          await store.insertRuns(
            Array.from({ length: 12 }, (_, i) => {
              const status = i === 2 || i === 7 ? "failed" : states[i % 4]!;
              const extra: Partial<RunRecord> = status === "failed" && (i === 2 || i === 7) ? { deadLetteredAt: slot(i) + 5 } : {};
              return makeRun(rid(i), jobId, slot(i), { trigger: triggers[i % 4]!, status, projectId: i < 6 ? "p_a" : "p_b", ...extra });
            }),
          );
          // Running in the store only once its progress is stored: the insert keeps the given status on every adapter.
          await store.markRedriven(rid(7), "run_again", slot(7) + 10);
        });
        const ids = (page: { items: RunRecord[] }) => page.items.map((r) => Number(r.runId.slice(5)));

        it("filters by trigger and by a slot time range, with the total of all pages", async () => {
          const manual = await store.listRuns({ jobId, trigger: "manual", pageSize: 2, withTotal: true });
          expect(ids(manual)).toEqual([9, 5]);
          expect(manual.total).toBe(3);
          const range = await store.listRuns({ jobId, scheduledFrom: slot(3), scheduledTo: slot(6), pageSize: 10, withTotal: true });
          expect(ids(range)).toEqual([5, 4, 3]);
          expect(range.total).toBe(3);
          const both = await store.listRuns({ jobId, trigger: "schedule", scheduledFrom: slot(4), pageSize: 10 });
          expect(ids(both)).toEqual([10, 8, 6, 4]);
          expect(both.total).toBeUndefined();
        });

        it("lists oldest first on request, continuing after a cursor", async () => {
          const first = await store.listRuns({ jobId, oldestFirst: true, pageSize: 5, withTotal: true });
          expect(ids(first)).toEqual([0, 1, 2, 3, 4]);
          expect(first.total).toBe(12);
          const second = await store.listRuns({ jobId, oldestFirst: true, pageSize: 5, after: first.nextCursor, withTotal: true });
          expect(ids(second)).toEqual([5, 6, 7, 8, 9]);
          expect(second.total).toBe(12);
        });

        it("skips an offset of matching runs in either order", async () => {
          expect(ids(await store.listRuns({ jobId, offset: 3, pageSize: 4 }))).toEqual([8, 7, 6, 5]);
          expect(ids(await store.listRuns({ jobId, offset: 10, pageSize: 4, oldestFirst: true }))).toEqual([10, 11]);
          const late = await store.listRuns({ jobId, offset: 20, pageSize: 4, withTotal: true });
          expect(late).toMatchObject({ items: [], total: 12 });
        });

        it("combines a state filter with the others: final states and states not final", async () => {
          const failed = await store.listRuns({ jobId, status: "failed", pageSize: 10, withTotal: true });
          expect(ids(failed)).toEqual([9, 7, 5, 2, 1]);
          expect(failed.total).toBe(5);
          const failedManual = await store.listRuns({ jobId, status: "failed", trigger: "manual", oldestFirst: true, pageSize: 10, withTotal: true });
          expect([ids(failedManual), failedManual.total]).toEqual([[1, 5, 9], 3]);
          const queued = await store.listRuns({ jobId, status: "queued", pageSize: 1, withTotal: true });
          expect([ids(queued), queued.total]).toEqual([[11], 2]);
          const queuedAfter = await store.listRuns({ jobId, status: "queued", pageSize: 1, before: queued.nextCursor });
          expect(ids(queuedAfter)).toEqual([3]);
          const inProject = await store.listRuns({ jobId, status: "queued", projectId: "p_a", pageSize: 10, withTotal: true });
          expect([ids(inProject), inProject.total]).toEqual([[3], 1]);
          const inRange = await store.listRuns({ jobId, status: "succeeded", scheduledTo: slot(5), offset: 1, pageSize: 10, withTotal: true });
          expect([ids(inRange), inRange.total]).toEqual([[0], 2]);
        });

        it("pages, orders and counts the dead-letter queue the same way", async () => {
          const waiting = await store.listDeadLetters({ jobId, pageSize: 10, withTotal: true });
          expect([ids(waiting), waiting.total]).toEqual([[2], 1]);
          const all = await store.listDeadLetters({ jobId, includeRedriven: true, oldestFirst: true, pageSize: 1, withTotal: true });
          expect([ids(all), all.total]).toEqual([[2], 2]);
          const next = await store.listDeadLetters({ jobId, includeRedriven: true, oldestFirst: true, pageSize: 1, after: all.nextCursor });
          expect(ids(next)).toEqual([7]);
          expect(ids(await store.listDeadLetters({ jobId, includeRedriven: true, offset: 1, pageSize: 5 }))).toEqual([2]);
          expect(ids(await store.listDeadLetters({ jobId, includeRedriven: true, trigger: "manual", pageSize: 5 }))).toEqual([]);
        });
      });

      it("purges a job's finished runs and dead letters created before a time, oldest first, never runs not final", async () => {
        const jobId = id("job");
        const other = id("job");
        const run = (i: number, extra: Partial<RunRecord>) => makeRun(`purge_${jobId}_${i}`, jobId, T0 + i * 1000, { createdAt: T0 + i * 1000, ...extra });
        await store.insertRuns([
          run(0, { status: "succeeded" }),
          run(1, { status: "failed", deadLetteredAt: T0 + 1005 }),
          run(2, { status: "running" }),
          run(3, { status: "cancelled" }),
          run(4, { status: "succeeded" }),
          makeRun(`purge_${other}_0`, other, T0, { status: "succeeded" }),
        ]);
        const dead = await store.countDeadLetters();
        expect(await store.purgeRuns(jobId, T0 + 4000, 1)).toBe(1);
        expect(await store.getRun(`purge_${jobId}_0`)).toBeUndefined();
        expect(await store.purgeRuns(jobId, T0 + 4000, 100)).toBe(2);
        expect((await store.listRuns({ jobId, pageSize: 10 })).items.map((r) => r.runId)).toEqual([`purge_${jobId}_4`, `purge_${jobId}_2`]);
        expect(await store.countDeadLetters()).toBe(dead - 1);
        expect(await store.listActiveRuns({ jobIds: [jobId], limit: 10 })).toEqual([{ runId: `purge_${jobId}_2`, jobId, status: "running" }]);
        expect(await store.getRun(`purge_${other}_0`)).toBeDefined();
        expect(await store.purgeRuns(jobId, T0 + 4000, 100)).toBe(0);
      });

      it("keeps the dead-letter queue apart: listing, one redrive mark per entry, its count", async () => {
        const jobId = id("job");
        const failed = (i: number, extra: Partial<RunRecord> = {}) =>
          makeRun(`dlq_${jobId}_${i}`, jobId, T0 + i * 1000, { status: "failed", finishedAt: T0 + i * 1000 + 5, ...extra });
        await store.insertRuns([
          failed(0, { deadLetteredAt: T0 + 5 }),
          failed(1, { deadLetteredAt: T0 + 1005 }),
          failed(2), // failed, never dead-lettered (e.g. before the queue existed)
          makeRun(`dlq_${jobId}_3`, jobId, T0 + 3000, { status: "succeeded" }),
        ]);
        const before = await store.countDeadLetters();
        expect((await store.listDeadLetters({ jobId, pageSize: 10 })).items.map((r) => r.runId)).toEqual([`dlq_${jobId}_1`, `dlq_${jobId}_0`]);
        expect(await store.markRedriven(`dlq_${jobId}_1`, "run_redrive_1", T0 + 9000)).toBe(true);
        expect(await store.markRedriven(`dlq_${jobId}_1`, "run_redrive_2", T0 + 9500)).toBe(false);
        expect(await store.markRedriven(`dlq_${jobId}_2`, "run_redrive_3", T0 + 9500)).toBe(false);
        expect(await store.markRedriven(`dlq_${jobId}_3`, "run_redrive_4", T0 + 9500)).toBe(false);
        expect(await store.getRun(`dlq_${jobId}_1`)).toMatchObject({ status: "failed", redrivenAt: T0 + 9000, redrivenByRunId: "run_redrive_1" });
        expect((await store.listDeadLetters({ jobId, pageSize: 10 })).items.map((r) => r.runId)).toEqual([`dlq_${jobId}_0`]);
        const all = await store.listDeadLetters({ jobId, pageSize: 10, includeRedriven: true });
        expect(all.items.map((r) => r.runId)).toEqual([`dlq_${jobId}_1`, `dlq_${jobId}_0`]);
        expect(await store.countDeadLetters()).toBe(before - 1);
      });

      it("expires dead letters older than the retention, oldest first, never redriven ones", async () => {
        const jobId = id("job");
        const dead = (i: number, at: number) => makeRun(`exp_${jobId}_${i}`, jobId, T0 + i * 1000, { status: "failed", finishedAt: at, deadLetteredAt: at });
        // Long before every other test's dead letters: expiry is store-wide.
        const old = T0 - 10_000_000;
        await store.insertRuns([dead(0, old), dead(1, old + 10), dead(2, old + 20), dead(3, old + 90_000)]);
        await store.markRedriven(`exp_${jobId}_2`, "run_x", old + 30);
        expect(await store.expireDeadLetters(old + 60_000, 1)).toBe(1);
        expect(await store.getRun(`exp_${jobId}_0`)).toBeUndefined();
        expect(await store.expireDeadLetters(old + 60_000, 100)).toBe(1);
        const left = (await store.listRuns({ jobId, pageSize: 10 })).items.map((r) => r.runId);
        expect(left).toEqual([`exp_${jobId}_3`, `exp_${jobId}_2`]);
      });

      it("reads runs stored as dead_lettered by earlier versions as failed runs in the queue", async () => {
        const jobId = id("job");
        const legacy = makeRun(`legacy_${jobId}`, jobId, T0, { status: "dead_lettered", finishedAt: T0 + 7 });
        await store.insertRuns([legacy]);
        expect(await store.getRun(legacy.runId)).toMatchObject({ status: "failed", deadLetteredAt: T0 + 7 });
        await store.init(); // start-up brings stored legacy states up to date
        expect((await store.listDeadLetters({ jobId, pageSize: 10 })).items.map((r) => r.runId)).toEqual([legacy.runId]);
        expect((await store.listRuns({ jobId, status: "failed", pageSize: 10 })).items.map((r) => r.runId)).toEqual([legacy.runId]);
      });

      it("cancels only the queued runs of one job", async () => {
        const jobId = id("job");
        const other = id("job");
        await store.insertRuns([
          makeRun(id("run"), jobId, T0),
          makeRun(id("run"), jobId, T0 + 1000),
          makeRun(id("run"), jobId, T0 + 2000, { status: "running" }),
          makeRun(id("run"), other, T0),
        ]);
        expect(await store.cancelQueuedRuns(jobId, T0 + 9000)).toBe(2);
        const statuses = (await store.listRuns({ jobId, pageSize: 10 })).items.map((r) => r.status).sort();
        expect(statuses).toEqual(["cancelled", "cancelled", "running"]);
        const cancelled = (await store.listRuns({ jobId, status: "cancelled", pageSize: 10 })).items[0];
        expect(cancelled?.finishedAt).toBe(T0 + 9000);
        expect((await store.listRuns({ jobId: other, pageSize: 10 })).items[0]?.status).toBe("queued");
      });

      it("trims the oldest finished runs beyond the history limit", async () => {
        const jobId = id("job");
        const runs = Array.from({ length: 6 }, (_, i) => makeRun(`trim_${jobId}_${i}`, jobId, T0 + i * 1000, { status: i === 0 ? "running" : "succeeded" }));
        await store.insertRuns(runs);
        expect(await store.trimRuns([{ jobId, keep: 3 }])).toBe(3);
        const left = (await store.listRuns({ jobId, pageSize: 10 })).items.map((r) => r.runId);
        expect(left).toEqual([5, 4, 0].map((i) => `trim_${jobId}_${i}`));
        expect(await store.trimRuns([{ jobId, keep: 3 }])).toBe(0);
        expect(await store.getRun(`trim_${jobId}_1`)).toBeUndefined();
      });

      it("never trims a run waiting in the dead-letter queue, nor counts it towards the limit", async () => {
        const jobId = id("job");
        const runs = Array.from({ length: 6 }, (_, i) =>
          makeRun(
            `trimdlq_${jobId}_${i}`,
            jobId,
            T0 + i * 1000,
            i === 1 || i === 2 ? { status: "failed", deadLetteredAt: T0 + i * 1000 } : { status: "succeeded" },
          ),
        );
        await store.insertRuns(runs);
        await store.markRedriven(`trimdlq_${jobId}_2`, "run_y", T0 + 9000);
        // Counted: 0, 2 (redriven: plain history again), 3, 4, 5; kept 2 of them, and the queued 1.
        expect(await store.trimRuns([{ jobId, keep: 2 }])).toBe(3);
        const left = (await store.listRuns({ jobId, pageSize: 10 })).items.map((r) => r.runId);
        expect(left).toEqual([5, 4, 1].map((i) => `trimdlq_${jobId}_${i}`));
      });

      it("trims many jobs in one call, each to its own limit", async () => {
        const [a, b] = [id("job"), id("job")];
        const runs = [a, b].flatMap((jobId) =>
          Array.from({ length: 4 }, (_, i) => makeRun(`trim2_${jobId}_${i}`, jobId, T0 + i * 1000, { status: "succeeded" })),
        );
        await store.insertRuns(runs);
        expect(
          await store.trimRuns([
            { jobId: a, keep: 1 },
            { jobId: b, keep: 3 },
          ]),
        ).toBe(4);
        expect((await store.listRuns({ jobId: a, pageSize: 10 })).items.map((r) => r.runId)).toEqual([`trim2_${a}_3`]);
        expect((await store.listRuns({ jobId: b, pageSize: 10 })).items).toHaveLength(3);
      });

      it("stores the first final state of a run whatever revision it expected, and no other", async () => {
        const run = makeRun(id("run"), id("job"), T0);
        await store.insertRuns([run]);
        await store.updateRun({ ...run, status: "running", revision: 2 }, 1);
        const late = { ...run, status: "succeeded" as const, revision: 2, finishedAt: T0 + 5 };
        expect(await store.updateRuns([{ run: late, expectedRevision: 1 }])).toEqual([true]);
        expect(await store.getRun(run.runId)).toEqual(late);
        expect(await store.updateRuns([{ run: { ...late, status: "cancelled" }, expectedRevision: 1 }])).toEqual([false]);
      });

      it("reports a run as running once its progress is stored", async () => {
        const jobId = id("job");
        const run = makeRun(id("run"), jobId, T0);
        await store.insertRuns([run]);
        const running = { ...run, status: "running" as const, revision: 2, startedAt: T0 + 1 };
        await store.updateRun(running, 1);
        const withAttempt = {
          ...running,
          revision: 3,
          attempts: [{ number: 1, startedAt: T0 + 1, statusCode: 503, error: "HTTP 503", responseExcerpt: "", durationMs: 2 }],
        };
        await store.updateRun(withAttempt, 2);
        expect(await store.getRun(run.runId)).toEqual(withAttempt);
        expect(await store.listActiveRuns({ jobIds: [jobId], limit: 5 })).toEqual([{ runId: run.runId, jobId, status: "running" }]);
        expect((await store.listRuns({ jobId, status: "running", pageSize: 5 })).items.map((r) => r.runId)).toEqual([run.runId]);
        expect(await store.countRuns("running")).toBeGreaterThanOrEqual(1);
      });

      it("never changes a final run again, whatever the revision", async () => {
        const run = makeRun(id("run"), id("job"), T0);
        await store.insertRuns([run]);
        const done = { ...run, status: "succeeded" as const, revision: 2, finishedAt: T0 + 9 };
        await store.updateRun(done, 1);
        expect(await codeOf(store.updateRun({ ...done, status: "cancelled", revision: 3 }, 2))).toBe("version_conflict");
        expect(await store.updateRuns([{ run: { ...done, status: "running", revision: 3 }, expectedRevision: 2 }])).toEqual([false]);
        expect(await store.getRun(run.runId)).toEqual(done);
      });

      it("lets exactly one of two racing finishers of a run win", async () => {
        const run = makeRun(id("run"), id("job"), T0);
        await store.insertRuns([run]);
        const finishers = (["succeeded", "cancelled"] as const).map((status) => ({ ...run, status, revision: 2 }));
        const results = await Promise.allSettled(finishers.map((f) => store.updateRun(f, 1)));
        expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
        const winner = (results.find((r) => r.status === "fulfilled") as PromiseFulfilledResult<{ status: string }>).value;
        expect((await store.getRun(run.runId))?.status).toBe(winner.status);
      });

      it("lists the runs not final yet, oldest first, for all jobs or some", async () => {
        const [a, b] = [id("job"), id("job")];
        await store.insertRuns([
          makeRun(`act_${a}_0`, a, T0),
          makeRun(`act_${a}_1`, a, T0 + 1000, { status: "running" }),
          makeRun(`act_${a}_2`, a, T0 + 2000, { status: "succeeded" }),
          makeRun(`act_${b}_0`, b, T0),
        ]);
        const ofA = await store.listActiveRuns({ jobIds: [a], limit: 10 });
        expect(ofA.map((r) => r.runId)).toEqual([`act_${a}_0`, `act_${a}_1`]);
        const ofBoth = await store.listActiveRuns({ jobIds: [a, b], limit: 10 });
        expect(ofBoth.map((r) => r.runId).sort()).toEqual([`act_${a}_0`, `act_${a}_1`, `act_${b}_0`]);
        expect(await store.listActiveRuns({ jobIds: [], limit: 10 })).toEqual([]);
        expect(ofA.map((r) => [r.jobId, r.status])).toEqual([
          [a, "queued"],
          [a, "running"],
        ]);
        const all = await store.listActiveRuns({ limit: 1000 });
        expect(all.map((r) => r.runId)).toEqual(expect.arrayContaining([`act_${a}_0`, `act_${b}_0`]));
        expect(all.every((r) => r.status === "queued" || r.status === "running")).toBe(true);
        const first = (await store.getRun(ofA[0]!.runId))!;
        await store.updateRun({ ...first, status: "succeeded", revision: 2 }, 1);
        expect((await store.listActiveRuns({ jobIds: [a], limit: 10 })).map((r) => r.runId)).toEqual([`act_${a}_1`]);
      });

      it("names the jobs with a run not final, among those asked, until their runs finish", async () => {
        const [queued, running, done, none] = [id("job"), id("job"), id("job"), id("job")];
        await store.insertRuns([
          makeRun(`busy_${queued}_0`, queued, T0),
          makeRun(`busy_${queued}_1`, queued, T0 + 1000),
          makeRun(`busy_${running}_0`, running, T0, { status: "running" }),
          makeRun(`busy_${done}_0`, done, T0, { status: "succeeded" }),
          makeRun(`busy_${done}_1`, done, T0 + 1000, { status: "failed" }),
        ]);
        expect(await store.busyJobs([queued, running, done, none])).toEqual(new Set([queued, running]));
        expect(await store.busyJobs([done])).toEqual(new Set());
        expect(await store.busyJobs([])).toEqual(new Set());
        for (const runId of [`busy_${queued}_0`, `busy_${queued}_1`]) {
          const run = (await store.getRun(runId))!;
          await store.updateRun({ ...run, status: "cancelled", revision: 2 }, 1);
        }
        expect(await store.busyJobs([queued, running])).toEqual(new Set([running]));
      });

      it("repairs nothing when no insert was interrupted", async () => {
        expect(await store.repairRuns(T0 - 86_400_000)).toBe(0);
      });
    });
  });
}
