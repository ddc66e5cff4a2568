import { createSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { describeStoreContract } from "./store.contract.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

describeStoreContract("sqlite", async () => {
  const dir = mkdtempSync(join(tmpdir(), "cronmesh-sqlite-"));
  const store = createSqliteStore({ path: join(dir, "cronmesh.db") });
  await store.init();
  return {
    store,
    dispose: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
