import { createSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { describeStoreContract } from "./store.contract.js";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { describe, expect, it, vi } from "vitest";
import { makeRun } from "./fixtures.js";
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

describe("sqlite write-ahead log", () => {
  it("is moved into the database file by a background thread, not by the node's writes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cronmesh-sqlite-wal-"));
    const path = join(dir, "cronmesh.db");
    const errors: string[] = [];
    const store = createSqliteStore({ path, onError: (m) => errors.push(m) });
    try {
      await store.init();
      const before = statSync(path).size;
      await store.insertRuns(Array.from({ length: 500 }, (_, i) => makeRun(`run_wal_${i}`, "job_wal", Date.UTC(2026, 0, 1) + i * 1000)));
      // Far below the node's own checkpoint threshold: only the background thread moves these pages.
      expect(statSync(path).size).toBe(before);
      await vi.waitFor(() => expect(statSync(path).size).toBeGreaterThan(before), { timeout: 5000, interval: 100 });
      expect(errors).toEqual([]);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
