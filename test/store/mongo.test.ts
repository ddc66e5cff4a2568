import { randomBytes } from "node:crypto";
import { describe, expect, inject, it, vi } from "vitest";
import { CronError } from "../../src/domain/cron-error.js";
import { MongoClient } from "mongodb";
import { createMongoStore } from "../../src/store/mongo/mongo-store.js";
import { CHANGE_SWEEP_SKEW_MS, FULL_REPAIR_EVERY_MS } from "../../src/store/mongo/scheduler-operations.js";
import { startFerretDb } from "../harness/ferretdb.js";
import { dropDatabase, openMongoStoreForTest } from "../harness/mongo.js";
import "../harness/provided-context.js";
import { makeJob, makeRun, T0 } from "../support/fixtures.js";
import { describeStoreContract } from "./store.contract.js";

describeStoreContract("mongo", openMongoStoreForTest);

describe("mongo store ping", () => {
  it("fails with unavailable while the server is down and answers again once it is back", async () => {
    const server = await startFerretDb();
    const store = createMongoStore({ uri: server.uri, dbName: "cronmesh_ping", nodeId: "test" });
    try {
      await expect(store.ping()).resolves.toBeUndefined();
      await server.crash();
      const started = Date.now();
      const refused = await store.ping().catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(CronError);
      expect((refused as CronError).code).toBe("unavailable");
      // Bounded by the ping's own deadline, not the client's server-selection timeout.
      expect(Date.now() - started).toBeLessThan(4000);
      await server.restart();
      await vi.waitFor(() => store.ping(), { timeout: 15_000, interval: 200 });
    } finally {
      await store.close();
      await server.stop();
    }
  }, 60_000);
});

describe("mongo store, client replaced", () => {
  it("replaces a client whose calls all fail for want of the server, and the new one serves every operation once the server is back", async () => {
    const server = await startFerretDb();
    const replaced: number[] = [];
    const store = createMongoStore({
      uri: server.uri,
      dbName: "cronmesh_replace",
      nodeId: "test",
      replaceClientAfterMs: 1000,
      onClientReplaced: (ms) => replaced.push(ms),
    });
    try {
      await store.init();
      await store.createJob(makeJob("before_restart"));
      await server.crash();
      // Calls fail (the server is away, each within the server-selection timeout) for more than the
      // window: the client is replaced (again each window while they still fail).
      const failing = Date.now();
      while (replaced.length === 0 && Date.now() - failing < 20_000) await store.getJob("before_restart").catch(() => undefined);
      expect(replaced.length).toBeGreaterThan(0);
      expect(replaced[0]).toBeGreaterThanOrEqual(1000);
      await server.restart();
      await vi.waitFor(() => store.getJob("before_restart"), { timeout: 15_000, interval: 200 });
      const replacements = replaced.length;
      await store.createJob(makeJob("after_restart"));
      expect((await store.listJobs({}, { pageSize: 10 })).items.map((j) => j.jobId)).toEqual(["after_restart", "before_restart"]);
      // Answered calls: no replacement since.
      expect(replaced).toHaveLength(replacements);
    } finally {
      await store.close();
      await server.stop();
    }
  }, 60_000);
});

describe("mongo store, two replicas on one database", () => {
  it("creates jobs on one replica while another lists due jobs (repairing the states they lack) without a duplicate-key failure", async () => {
    const uri = inject("mongoUri");
    const dbName = `cronmesh_test_${randomBytes(6).toString("hex")}`;
    const [a, b] = [createMongoStore({ uri, dbName, nodeId: "a" }), createMongoStore({ uri, dbName, nodeId: "b" })];
    await a.init();
    await b.init();
    try {
      // Replica b's due listing writes the scheduler state of every job it finds without one: a job
      // replica a has just inserted, whose state a is writing at the same moment.
      let listing = true;
      const lister = (async () => {
        while (listing) await b.listDueJobRefs(T0 + 86_400_000, 1000);
      })();
      const jobs = Array.from({ length: 120 }, (_, i) => makeJob(`job_race_${String(i).padStart(3, "0")}`, { nextTriggerAt: T0 + i }));
      let next = 0;
      const creator = async () => {
        while (next < jobs.length) await a.createJob(jobs[next++]!);
      };
      try {
        await Promise.all(Array.from({ length: 16 }, creator));
      } finally {
        listing = false;
        await lister;
      }
      expect((await b.listDueJobRefs(T0 + 86_400_000, 1000)).length).toBe(jobs.length);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await dropDatabase(uri, dbName);
    }
  }, 120_000);
});

describe("mongo store, the due queries' repair of states a crash left behind", () => {
  it("repairs a job changed since shortly before the previous query at once, and any other job at the hourly full comparison", async () => {
    const uri = inject("mongoUri");
    const dbName = `cronmesh_test_${randomBytes(6).toString("hex")}`;
    let now = T0;
    const store = createMongoStore({ uri, dbName, nodeId: "a", now: () => now });
    await store.init();
    const client = new MongoClient(uri);
    try {
      const states = client.db(dbName).collection<{ _id: string; jobVersion: number; nextTriggerAt?: number }>("job_schedule");
      const jobs = client.db(dbName).collection<{ _id: string; version: number; updatedAt: number; nextTriggerAt?: number }>("jobs");
      // A crash between a change's two writes: the job is at version 2, its state still at 1 and due.
      const crashAfterJobWrite = async (jobId: string, updatedAt: number) => {
        await jobs.updateOne({ _id: jobId }, { $set: { version: 2, updatedAt, nextTriggerAt: T0 + 7 * 86_400_000 } });
        await states.updateOne({ _id: jobId }, { $set: { jobVersion: 1, nextTriggerAt: T0 } });
      };
      const dueIds = async () => (await store.listDueJobRefs(T0 + 1, 100)).map((r) => r.jobId).sort();
      await store.createJob(makeJob("job_recent", { nextTriggerAt: T0, updatedAt: T0 }));
      await store.createJob(makeJob("job_old", { nextTriggerAt: T0, updatedAt: T0 }));
      expect(await dueIds()).toEqual(["job_old", "job_recent"]);
      now = T0 + 2 * CHANGE_SWEEP_SKEW_MS;
      await crashAfterJobWrite("job_recent", now - CHANGE_SWEEP_SKEW_MS / 2);
      await crashAfterJobWrite("job_old", T0 - 2 * CHANGE_SWEEP_SKEW_MS);
      // The sweep reads the jobs changed since shortly before the previous query: job_recent's
      // state is rewritten (no longer due), job_old's stamp is older and waits for the full pass.
      expect(await dueIds()).toEqual(["job_old"]);
      now = T0 + FULL_REPAIR_EVERY_MS;
      expect(await dueIds()).toEqual([]);
      expect((await states.findOne({ _id: "job_old" }))?.jobVersion).toBe(2);
    } finally {
      await client.close();
      await store.close();
      await dropDatabase(uri, dbName);
    }
  }, 60_000);
});

describe("mongo store, run references a crash left behind", () => {
  it("drops the active reference of a run final already when its final state is written again", async () => {
    const uri = inject("mongoUri");
    const dbName = `cronmesh_test_${randomBytes(6).toString("hex")}`;
    const store = createMongoStore({ uri, dbName, nodeId: "a" });
    await store.init();
    const client = new MongoClient(uri);
    try {
      const active = client.db(dbName).collection<{ _id: string; jobId: string; status: string }>("run_active");
      const run = makeRun("run_stale", "job_1", T0);
      await store.insertRuns([run]);
      const done = { ...run, status: "succeeded" as const, finishedAt: T0 + 10, revision: 2 };
      await store.updateRun(done, 1);
      expect(await store.listActiveRuns({ limit: 10 })).toEqual([]);
      // A writer stopped between the final state's insert and the reference's delete.
      await active.insertOne({ _id: run.runId, jobId: run.jobId, status: "running" });
      expect((await store.listActiveRuns({ limit: 10 })).map((r) => r.runId)).toEqual([run.runId]);
      // Written again (a retry, another replica): refused, first writer wins, and the reference goes.
      expect(await store.updateRuns([{ run: { ...done, status: "failed" }, expectedRevision: 1 }])).toEqual([false]);
      expect(await store.listActiveRuns({ limit: 10 })).toEqual([]);
      expect((await store.getRun(run.runId))?.status).toBe("succeeded");
    } finally {
      await client.close();
      await store.close();
      await dropDatabase(uri, dbName);
    }
  }, 60_000);
});
