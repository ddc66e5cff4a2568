import { createSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { describeStoreContract } from "./store.contract.js";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import Database from "better-sqlite3";
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

describe("sqlite upgrade of a database written before the listing columns", () => {
  it("fills each run's trigger and slot from its document, so old runs filter like new ones", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cronmesh-sqlite-old-"));
    const path = join(dir, "cronmesh.db");
    const old = new Database(path);
    old.exec(`CREATE TABLE runs (run_id TEXT PRIMARY KEY, job_id TEXT NOT NULL, project_id TEXT NOT NULL, slot_key TEXT NOT NULL,
      status TEXT NOT NULL, revision INTEGER NOT NULL, doc TEXT NOT NULL, dead_lettered_at INTEGER, redriven_at INTEGER, UNIQUE (job_id, slot_key))`);
    const t = Date.UTC(2026, 0, 1);
    const runs = [makeRun("run_old_1", "job_old", t, { trigger: "manual", status: "succeeded" }), makeRun("run_old_2", "job_old", t + 60_000, { status: "succeeded" })];
    for (const r of runs) {
      old.prepare("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)").run(r.runId, r.jobId, r.projectId, r.slotKey, r.status, r.revision, JSON.stringify(r));
    }
    old.close();
    const store = createSqliteStore({ path });
    try {
      await store.init();
      expect((await store.listRuns({ jobId: "job_old", trigger: "manual", pageSize: 5 })).items.map((r) => r.runId)).toEqual(["run_old_1"]);
      expect((await store.listRuns({ jobId: "job_old", scheduledFrom: t + 1, pageSize: 5 })).items.map((r) => r.runId)).toEqual(["run_old_2"]);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
