import { mkdtempSync } from "node:fs"; import { tmpdir } from "node:os"; import { join } from "node:path";
const { createSqliteStore } = await import("../../dist/src/store/sqlite/sqlite-store.js");
const { slotKeyFor } = await import("../../dist/src/domain/run.js");
const store = createSqliteStore({ path: join(mkdtempSync(join(tmpdir(), "tt-")), "db.sqlite") }); await store.init();
const N = 10000; let seq = 0;
for (let r = 0; r < 6; r++) { const slot = 1_800_000_000_000 + r * 1000; const runs = Array.from({ length: N }, (_, i) => ({ runId: `run_${String(++seq).padStart(26, "0")}`, jobId: `job_${String(i).padStart(26, "0")}`, jobVersion: 1, projectId: "", slotKey: slotKeyFor(slot), scheduledAt: slot, dueAt: slot, trigger: "schedule", status: "succeeded", attempts: [], result: "", error: "", nodeId: "", traceId: "", replayOf: "", redriveOf: "", taskResults: [], createdAt: slot, updatedAt: slot, revision: 1 })); for (let i = 0; i < N; i += 1000) await store.insertRuns(runs.slice(i, i + 1000)); }
const limits = Array.from({ length: N }, (_, i) => ({ jobId: `job_${String(i).padStart(26, "0")}`, keep: 100 }));
for (let k = 0; k < 3; k++) { const t = performance.now(); await store.trimRuns(limits); console.log(`trim of ${N} jobs (none over its limit): ${(performance.now() - t).toFixed(0)} ms in one call`); }
const t = performance.now(); let worst = 0; for (let i = 0; i < N; i += 250) { const s = performance.now(); await store.trimRuns(limits.slice(i, i + 250)); worst = Math.max(worst, performance.now() - s); } console.log(`in chunks of 250: ${(performance.now() - t).toFixed(0)} ms in all, longest chunk ${worst.toFixed(1)} ms`);
