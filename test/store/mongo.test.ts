import { randomBytes } from "node:crypto";
import { describe, expect, inject, it, vi } from "vitest";
import { CronError } from "../../src/domain/cron-error.js";
import { createMongoStore } from "../../src/store/mongo/mongo-store.js";
import { startFerretDb } from "../harness/ferretdb.js";
import { dropDatabase, openMongoStoreForTest } from "../harness/mongo.js";
import "../harness/provided-context.js";
import { makeJob, T0 } from "../support/fixtures.js";
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
