import { createSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { describeStoreContract } from "./store.contract.js";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import Database from "better-sqlite3";
import { describe, expect, it, vi } from "vitest";
import { makeJob, makeRun } from "../support/fixtures.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createListingTotals } from "../../src/store/sqlite/listing-totals.js";
import type { Reader } from "../../src/store/sqlite/reader-thread.js";

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

describe("sqlite job reads", () => {
  it("share no part one reader could change under another, and follow every change of the job", async () => {
    const store = createSqliteStore({ path: ":memory:" });
    try {
      await store.init();
      const job = makeJob("job_shared", {}, { tags: { team: "a" } });
      await store.createJob(job);
      const [first, second] = [(await store.getJob(job.jobId))!, (await store.getJobs([job.jobId]))[0]!];
      expect(() => ((first.spec.tags as Record<string, string>).team = "b")).toThrow(TypeError);
      first.status = "paused";
      expect(second).toEqual(job);
      const changed = { ...job, version: 2, spec: { ...job.spec, tags: { team: "c" } } };
      await store.updateJob(changed, 1);
      expect(await store.getJob(job.jobId)).toEqual(changed);
      expect((await store.listJobsByPage({}, { page: 1, limit: 5, offset: 0 })).items).toEqual([changed]);
    } finally {
      await store.close();
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
    const runs = [
      makeRun("run_old_1", "job_old", t, { trigger: "manual", status: "succeeded" }),
      makeRun("run_old_2", "job_old", t + 60_000, { status: "succeeded" }),
    ];
    for (const r of runs) {
      old
        .prepare("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)")
        .run(r.runId, r.jobId, r.projectId, r.slotKey, r.status, r.revision, JSON.stringify(r));
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

describe("sqlite listing tables", () => {
  it("are built from the jobs of a database that had none, once, and kept up to date from then on", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cronmesh-sqlite-listing-"));
    const path = join(dir, "cronmesh.db");
    try {
      const first = createSqliteStore({ path });
      await first.init();
      await first.createJob(makeJob("old_1", {}, { name: "Nightly export", tags: { team: "a" } }));
      await first.createJob(makeJob("old_2", { status: "paused" }, { name: "weekly", tags: { team: "b" } }));
      await first.close();
      // What a database of an earlier version holds: the jobs, none of the listing tables.
      const raw = new Database(path);
      for (const t of ["jobs_listing_insert", "jobs_listing_delete", "jobs_listing_status", "jobs_listing_tags", "jobs_listing_text"])
        raw.exec(`DROP TRIGGER ${t}`);
      for (const t of ["job_counts", "job_tags", "job_text_keys", "job_text"]) raw.exec(`DROP TABLE ${t}`);
      raw.close();
      const store = createSqliteStore({ path });
      await store.init();
      await store.init();
      await store.createJob(makeJob("new_1", {}, { name: "export again", tags: { team: "a" } }));
      const list = async (f: object) => (await store.listJobs(f, { pageSize: 10 })).items.map((j) => j.jobId);
      const total = async (f: object) => (await store.listJobsByPage(f, { page: 1, limit: 1 })).total;
      expect([await list({ tag: "team=a" }), await list({ text: "EXPORT" }), await list({ text: "ly" })]).toEqual([
        ["new_1", "old_1"],
        ["new_1", "old_1"],
        ["old_1", "old_2"],
      ]);
      expect([await total({}), await total({ status: "paused" }), await total({ tag: "team" }), await store.countJobs()]).toEqual([3, 1, 3, 3]);
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("sqlite listing totals", () => {
  it("are counted again once another connection to the same file wrote a job", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cronmesh-sqlite-totals-"));
    const path = join(dir, "cronmesh.db");
    const store = createSqliteStore({ path });
    const other = createSqliteStore({ path });
    try {
      await store.init();
      await store.createJob(makeJob("tot_1", {}, { name: "nightly export", tags: { team: "a" } }));
      const totals = async () =>
        Promise.all([{ tag: "team" }, { text: "export" }, { owner: "alice" }].map(async (f) => (await store.listJobsByPage(f, { page: 1, limit: 1 })).total));
      const before = await totals();
      await other.createJob(makeJob("tot_2", {}, { name: "export again", tags: { team: "b" } }));
      expect([before, await totals()]).toEqual([
        [1, 1, 1],
        [2, 2, 2],
      ]);
      await other.deleteJob("tot_1");
      expect(await totals()).toEqual([1, 1, 1]);
    } finally {
      await other.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("returns, but does not keep, a total counted while a job was written", async () => {
    const db = new Database(":memory:");
    let answer = 5;
    let gate: (() => void) | undefined;
    const reader: Reader = {
      all: async () => [],
      get: async () => {
        const n = answer;
        if (gate === undefined) return { n };
        await new Promise<void>((resolve) => (gate = resolve));
        return { n };
      },
      stop: async () => undefined,
    };
    const totals = createListingTotals(db, reader);
    gate = () => undefined;
    const counting = totals.count("SELECT 5 AS n", {});
    await vi.waitFor(() => expect(gate).not.toBeTypeOf("undefined"));
    totals.jobsChanged();
    answer = 6;
    gate!();
    gate = undefined;
    expect([await counting, await totals.count("SELECT 5 AS n", {}), await totals.count("SELECT 5 AS n", {})]).toEqual([5, 6, 6]);
    db.close();
  });

  it("are read off the event loop when the store is a file: timers and I/O go on while a listing reads", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cronmesh-sqlite-reader-"));
    const store = createSqliteStore({ path: join(dir, "cronmesh.db") });
    try {
      await store.init();
      await store.createJob(makeJob("read_1", {}, { name: "nightly export" }));
      let turns = 0;
      let listed = false;
      const listing = store.listJobs({ text: "export" }, { pageSize: 10 }).then((page) => {
        listed = true;
        return page;
      });
      // Turns of the event loop that ended with the listing still reading (none when it reads here).
      while (!listed) {
        await new Promise((resolve) => setImmediate(resolve));
        if (!listed) turns++;
      }
      expect((await listing).items.map((j) => j.jobId)).toEqual(["read_1"]);
      expect(turns).toBeGreaterThan(0);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("finds a text in most jobs by reading the jobs in order, and the same jobs as gathering its matches", async () => {
    const store = createSqliteStore({ path: ":memory:" });
    await store.init();
    for (let i = 0; i < 300; i++) {
      const name = i % 100 === 7 ? `rare ${i}` : `common ${i}`;
      await store.createJob(
        makeJob(`probe_${String(i).padStart(3, "0")}`, { status: i % 3 === 0 ? "paused" : "active" }, { name, tags: { n: String(i % 2) } }),
      );
    }
    const ids = async (f: object, offset: number) => (await store.listJobsByPage(f, { page: 1, limit: 5, offset })).items.map((j) => j.jobId);
    const expected = (pick: (i: number) => boolean, offset: number) =>
      Array.from({ length: 300 }, (_, i) => i)
        .filter(pick)
        .slice(offset, offset + 5)
        .map((i) => `probe_${String(i).padStart(3, "0")}`);
    for (const offset of [0, 10, 150, 290]) {
      expect(await ids({ text: "common" }, offset)).toEqual(expected((i) => i % 100 !== 7, offset));
      expect(await ids({ text: "COMMON", status: "paused" }, offset)).toEqual(expected((i) => i % 100 !== 7 && i % 3 === 0, offset));
      expect(await ids({ text: "rare" }, offset)).toEqual(expected((i) => i % 100 === 7, offset));
    }
    const cursor = await store.listJobs({ text: "common" }, { pageSize: 4, after: "probe_005" });
    expect(cursor.items.map((j) => j.jobId)).toEqual(["probe_006", "probe_008", "probe_009", "probe_010"]);
    await store.close();
  });
});
