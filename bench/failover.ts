// Failover benchmark (`npm run bench:failover`): a 3-replica cluster on a 3-member etcd and
// FerretDB, a storm of every-second jobs, and the leader SIGKILLed again and again. Each failover
// is the time from the kill to the first delivery of a slot that only the new leader can fire.
// Everything runs on loopback; every process is started and stopped here, by its PID.
import { readFileSync } from "node:fs";
import { startCluster } from "../test/harness/cluster.js";
import { awaitSlots, firstFireAfter, killLeader, startStorm, stormSize } from "../test/harness/storm.js";

const KILLS = Number(process.env.KILLS ?? 20);
const TTL_MS = Number(process.env.TTL_MS ?? 3000);
const JOBS = stormSize();

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

const cluster = await startCluster({
  replicas: 3,
  etcdMembers: 3,
  ttlMs: TTL_MS,
  env: { CLAIM_SCAN_MS: "1000", STATS_FLUSH_MS: "2000", HISTORY_TRIM_MS: "600000", RUN_WRITE_BATCH_MS: "100" },
});
try {
  const storm = await startStorm(cluster, JOBS);
  console.log(`cluster up, ${JOBS} jobs firing every second, lease TTL ${TTL_MS} ms; ${KILLS} leader kills`);
  const failovers: number[] = [];
  for (let i = 0; i < KILLS; i++) {
    const { leader, killedAt } = await killLeader(cluster);
    const ms = await firstFireAfter(cluster, storm, killedAt, 30_000);
    failovers.push(ms);
    console.log(`kill ${i + 1}: ${leader.nodeId} killed at ${new Date(killedAt).toISOString()}, first fire by the new leader after ${ms} ms`);
    await leader.start();
    await new Promise((r) => setTimeout(r, 1000));
  }
  const sorted = [...failovers].sort((a, b) => a - b);
  // Every slot up to a moment ago, once the last catch-up had time to arrive.
  const report = await awaitSlots(cluster, storm, storm.firstSlot, Date.now() - 2000, 30_000);
  console.log(
    `failover over ${KILLS} kills: p50 ${quantile(sorted, 0.5)} ms, p90 ${quantile(sorted, 0.9)} ms, max ${sorted[sorted.length - 1]} ms (TTL ${TTL_MS} ms)`,
  );
  console.log(
    `slots: ${report.duplicates.length} fired twice, ${report.lost.length} lost, ${report.redelivered} runs delivered again by a new claimant (at-least-once)`,
  );
  if (process.env.DIAG && report.lost.length > 0) {
    const { MongoClient } = await import("mongodb");
    const client = new MongoClient(cluster.mongoUri);
    const db = client.db(cluster.dbName);
    const sinkRuns = new Map(cluster.sink.deliveries.map((d) => [d.runId, d]));
    for (const key of report.lost.slice(0, 4)) {
      const [jobId, slot] = key.split("@");
      const run = await db.collection("runs").findOne({ jobId, slotKey: slot });
      const active = run ? await db.collection("run_active").findOne({ _id: run._id as never }) : null;
      const final = run ? await db.collection("run_finals").findOne({ _id: run._id as never }) : null;
      const sched = await db.collection("job_schedule").findOne({ _id: jobId as never });
      const seen = run ? sinkRuns.get(String(run._id)) : undefined;
      console.log("sink saw that run:", seen ? JSON.stringify({ jobId: seen.jobId, scheduledAt: seen.scheduledAt, path: seen.path }) : "no");
      console.log(
        key,
        JSON.stringify({
          run: run && { id: run._id, node: run.nodeId, created: new Date(run.createdAt).toISOString(), trigger: run.trigger, status: run.status },
          active,
          final: final && {
            status: final.status,
            node: final.nodeId,
            error: final.error,
            attempts: final.attempts,
            started: new Date(final.startedAt).toISOString(),
          },
          next: sched && new Date(sched.nextTriggerAt).toISOString(),
        }),
      );
    }
    const lostByTime = new Map<string, number>();
    for (const key of report.lost) {
      const t = key.split("@")[1]!.slice(11, 19);
      lostByTime.set(t, (lostByTime.get(t) ?? 0) + 1);
    }
    console.log("lost by slot time", JSON.stringify(Object.fromEntries(lostByTime)));
    await client.close();
  }
} catch (err) {
  console.error(err);
  for (const r of cluster.replicas) console.error(`--- ${r.nodeId}\n${readFileSync(r.logFile, "utf8").slice(-3000)}`);
  process.exitCode = 1;
} finally {
  await cluster.stop();
}
