import { randomBytes } from "node:crypto";
import { MongoClient } from "mongodb";
import { inject } from "vitest";
import { createMongoStore } from "../../src/store/mongo/mongo-store.js";
import type { StoreHarness } from "../store/store.contract.js";
import "./provided-context.js";

/**
 * Opens a Mongo store on a database of its own (`cronmesh_test_<random>`) on the server provided
 * by the global setup, initialised and empty. `dispose()` drops that database and closes the store.
 */
export async function openMongoStoreForTest(): Promise<StoreHarness> {
  const uri = inject("mongoUri");
  const dbName = `cronmesh_test_${randomBytes(6).toString("hex")}`;
  const store = createMongoStore({ uri, dbName, nodeId: "test" });
  await store.init();
  return {
    store,
    async dispose() {
      await store.close();
      await dropDatabase(uri, dbName);
    },
  };
}

/** Drops a test database through a short-lived client of its own. */
export async function dropDatabase(uri: string, dbName: string): Promise<void> {
  const client = new MongoClient(uri);
  try {
    await client.db(dbName).dropDatabase();
  } finally {
    await client.close();
  }
}
