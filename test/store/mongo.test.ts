import { describe, expect, it, vi } from "vitest";
import { CronError } from "../../src/domain/cron-error.js";
import { createMongoStore } from "../../src/store/mongo/mongo-store.js";
import { startFerretDb } from "../harness/ferretdb.js";
import { openMongoStoreForTest } from "../harness/mongo.js";
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
