import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { Store } from "../../src/store/store.js";
import type { StoreKind } from "./node.js";

/**
 * A bare Store adapter of either kind, initialised and empty: SQLite in a temporary folder, or a
 * database of its own on the test MongoDB server. `dispose()` closes it and deletes its data.
 */
export async function openStoreForTest(kind: StoreKind): Promise<{ store: Store; dispose(): Promise<void> }> {
  // Imported only when used: a test node in the same file must be the first to load the driver.
  if (kind === "mongo") return (await import("./mongo.js")).openMongoStoreForTest();
  const dir = mkdtempSync(join(tmpdir(), "cronmesh-store-"));
  const store = createSqliteStore({ path: join(dir, "cronmesh.db") });
  await store.init();
  return {
    store,
    async dispose() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
