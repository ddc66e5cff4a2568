import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ConcurrencyPolicy, JobSchema, MisfirePolicy } from "../gen/cronmesh/v1/job_pb.js";
import { clientsFor } from "../test/harness/clients.js";
import { startCluster } from "../test/harness/cluster.js";
import { readFileSync } from "node:fs";

const JOBS = Number(process.env.JOBS ?? 200);
const SECONDS = Number(process.env.SECONDS ?? 20);
process.on("uncaughtException", (e) => { console.error("uncaught", e); });
const cluster = await startCluster({ replicas: 3, etcdMembers: 3, ttlMs: 2000, backend: (process.env.BACKEND as "sqlite" | "postgresql" | undefined) ?? "sqlite", env: { STATS_FLUSH_MS: "2000", HISTORY_TRIM_MS: "600000", RUN_WRITE_BATCH_MS: "250" } });
const c = clientsFor(cluster.anyLive().baseUrl);
console.log("cluster up");
const t0 = Date.now();
const startAt = timestampFromMs(Math.ceil((t0 + JOBS * 60 + 3000) / 1000) * 1000);
for (let i = 0; i < JOBS; i++) {
  if (i % 20 === 0) console.log("creating", i, Date.now() - t0);
  await c.cron.createJob({ job: create(JobSchema, {
    name: `storm ${i}`, schedule: "* * * * * *", startAt, concurrencyPolicy: ConcurrencyPolicy.ALLOW, misfirePolicy: MisfirePolicy.CATCH_UP,
    catchupWindow: durationFromMs(600_000), historyLimit: 5, target: { url: `${cluster.sink.url}/j/${i}`, timeout: durationFromMs(5000) },
  }) });
}
console.log(`created ${JOBS} jobs in ${Date.now() - t0} ms`);
await new Promise((r) => setTimeout(r, Math.max(0, Number(startAt.seconds) * 1000 - Date.now() + 3000)));
import { execSync } from "node:child_process";
const procCpu = () => { const out: Record<string, number> = {}; for (const line of execSync("ps -eo pid,comm,args --no-headers").toString().split("\n")) { const m = line.trim().match(/^(\d+)\s+(\S+)\s+(.*)$/); if (!m) continue; const name = m[3]!.includes("cluster-bundle") ? "replica" : m[2]!; if (!["replica", "ferretdb", "postgres", "etcd", "node"].includes(name)) continue; try { const f = readFileSync(`/proc/${m[1]}/stat`, "utf8").split(" "); out[name] = (out[name] ?? 0) + (Number(f[13]) + Number(f[14])) * 10; } catch {} } return out; };
const cpu = (pid: number | undefined) => { if (!pid) return 0; const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(" "); return (Number(f[13]) + Number(f[14])) * 10; };
const pids = () => ({ r0: cluster.replicas[0]!.pid(), r1: cluster.replicas[1]!.pid(), r2: cluster.replicas[2]!.pid(), etcd0: cluster.etcd.members[0]!.pid(), ferret: undefined as number | undefined });
const procBefore = procCpu();
const before = Object.fromEntries(Object.entries(pids()).map(([k, p]) => [k, cpu(p)]));
const start = Date.now();
await new Promise((r) => setTimeout(r, SECONDS * 1000));
const procAfter = procCpu();
console.log("cpu ms/s by process kind", Object.fromEntries(Object.keys(procAfter).map((k) => [k, ((procAfter[k]! - (procBefore[k] ?? 0)) / SECONDS).toFixed(0)])));
const after = Object.fromEntries(Object.entries(pids()).map(([k, p]) => [k, cpu(p)]));
const d = cluster.sink.deliveries.filter((x) => x.receivedAt >= start);
const late = d.map((x) => x.receivedAt - Date.parse(x.scheduledAt)).sort((a, b) => a - b);
const q = (p: number) => late[Math.min(late.length - 1, Math.floor(p * late.length))];
const bySlot = new Map<string, Set<string>>();
for (const x of cluster.sink.deliveries) bySlot.set(`${x.jobId}@${x.scheduledAt}`, (bySlot.get(`${x.jobId}@${x.scheduledAt}`) ?? new Set()).add(x.runId));
const dups = [...bySlot.values()].filter((s) => s.size > 1).length;
const perRun = new Map<string, number>();
for (const x of cluster.sink.deliveries) perRun.set(x.runId, (perRun.get(x.runId) ?? 0) + 1);
console.log("runs delivered more than once:", [...perRun.values()].filter((n) => n > 1).length);
const byNode = new Map<string, number>();
for (const x of d) byNode.set(x.nodeId, (byNode.get(x.nodeId) ?? 0) + 1);
console.log(`deliveries ${d.length} in ${SECONDS}s (expected ~${JOBS * SECONDS}); lateness p50 ${q(0.5)} p99 ${q(0.99)} max ${late[late.length - 1]} ms; dup slots ${dups}`);
console.log("by node", Object.fromEntries(byNode));
console.log("cpu ms/s", Object.fromEntries(Object.keys(after).map((k) => [k, ((after[k]! - before[k]!) / SECONDS).toFixed(0)])));
console.log("leader", (await cluster.leader())?.nodeId);
for (const r of cluster.replicas) console.log(r.nodeId, readFileSync(r.logFile, "utf8").slice(-1500));
await cluster.stop();
