import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { MongoClient } from "mongodb";
import { ConcurrencyPolicy, JobSchema, MisfirePolicy } from "../../gen/cronmesh/v1/job_pb.js";
import { waitFor, type Cluster, type Replica } from "./cluster.js";

/** Every-second jobs calling the cluster's sink, each at a path of its own. */
export interface Storm {
  jobIds: Set<string>;
  /** The first slot every job fires. */
  firstSlot: number;
}

/** A slot's deliveries: which runs delivered it. */
export interface SlotReport {
  /** `job@slot` delivered by two different runs (a slot fired twice). */
  duplicates: string[];
  /** `job@slot` never delivered. */
  lost: string[];
  /** Deliveries of the same run more than once (at-least-once redeliveries: allowed, counted). */
  redelivered: number;
}

/**
 * Storm jobs (`CRONMESH_STORM_JOBS`): every second, a load the tests' FerretDB (on SQLite, about
 * 100 runs/s at most on this 2-core machine) carries next to three replicas and three etcd
 * members while they are being killed, with room to spare. At 30 jobs, a third of the server's
 * ceiling, recoveries slowed on some days until leaders went unfound and caught-up slots missed
 * their deadlines, in the scenarios of older code too; see docs/cluster.md.
 */
export function stormSize(): number {
  return Number(process.env.CRONMESH_STORM_JOBS || 20);
}

/**
 * Creates `count` every-second jobs (allow, catch-up within 10 minutes), all starting on the same
 * slot a few seconds ahead so that creating them does not compete with their firing, and waits
 * until every job has delivered its first slot.
 */
export async function startStorm(cluster: Cluster, count: number): Promise<Storm> {
  const c = cluster.clients();
  // Creating a job takes a few milliseconds; start once all exist, on a whole second.
  const firstSlot = Math.ceil((Date.now() + 3000 + count * 40) / 1000) * 1000;
  const jobIds = new Set<string>();
  for (let i = 0; i < count; i++) {
    const { job } = await c.cron.createJob({
      job: create(JobSchema, {
        name: `storm ${i}`,
        schedule: "* * * * * *",
        startAt: timestampFromMs(firstSlot),
        concurrencyPolicy: ConcurrencyPolicy.ALLOW,
        misfirePolicy: MisfirePolicy.CATCH_UP,
        catchupWindow: durationFromMs(600_000),
        historyLimit: 10,
        target: { url: `${cluster.sink.url}/storm/${i}`, timeout: durationFromMs(10_000) },
      }),
    });
    jobIds.add(job!.jobId);
  }
  await waitFor(
    () => new Set(cluster.sink.deliveries.filter((d) => jobIds.has(d.jobId)).map((d) => d.jobId)).size === count,
    firstSlot - Date.now() + 30_000,
    "every storm job to fire",
  );
  return { jobIds, firstSlot };
}

/** Duplicate and lost slots of the storm's jobs for slots in [from, to] (epoch ms, whole seconds). */
export function slotReport(cluster: Cluster, storm: Storm, from: number, to: number): SlotReport {
  const runsBySlot = new Map<string, Set<string>>();
  const perRun = new Map<string, number>();
  for (const d of cluster.sink.deliveries) {
    if (!storm.jobIds.has(d.jobId)) continue;
    const key = `${d.jobId}@${Date.parse(d.scheduledAt)}`;
    runsBySlot.set(key, (runsBySlot.get(key) ?? new Set()).add(d.runId));
    perRun.set(d.runId, (perRun.get(d.runId) ?? 0) + 1);
  }
  const duplicates = [...runsBySlot].filter(([, runs]) => runs.size > 1).map(([key]) => key);
  const lost: string[] = [];
  for (const jobId of storm.jobIds) {
    for (let slot = Math.max(from, storm.firstSlot); slot <= to; slot += 1000) {
      if (!runsBySlot.has(`${jobId}@${slot}`)) lost.push(`${jobId}@${new Date(slot).toISOString()}`);
    }
  }
  return { duplicates, lost, redelivered: [...perRun.values()].filter((n) => n > 1).length };
}

/** Waits until every slot of [from, to] is delivered (catch-up after an outage), or the time is up. */
export async function awaitSlots(cluster: Cluster, storm: Storm, from: number, to: number, timeoutMs: number): Promise<SlotReport> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const report = slotReport(cluster, storm, from, to);
    if (report.lost.length === 0 || Date.now() > deadline) return report;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Milliseconds from `t` (a leader's death) until the new leader fired: the creation time of the
 * first run delivered for a storm slot after `t` (only the new leader can fire those).
 */
export async function firstFireAfter(cluster: Cluster, storm: Storm, t: number, timeoutMs: number): Promise<number> {
  let runId: string | undefined;
  await waitFor(
    () => {
      runId = cluster.sink.deliveries.find((x) => storm.jobIds.has(x.jobId) && Date.parse(x.scheduledAt) > t)?.runId;
      return runId !== undefined;
    },
    timeoutMs,
    "the first fire after the kill",
  );
  const { run } = await cluster.clients().runs.getRun({ runId: runId! });
  return timestampMs(run!.createdAt!) - t;
}

/** SIGKILLs the current leader; returns it and the kill time once it is gone. */
export async function killLeader(cluster: Cluster): Promise<{ leader: Replica; killedAt: number }> {
  let leader: Replica | undefined;
  await waitFor(async () => (leader = await cluster.leader()) !== undefined, 15_000, "a leader");
  const killedAt = Date.now();
  leader!.signal("SIGKILL");
  await leader!.exited();
  return { leader: leader!, killedAt };
}

/** Runs (as created, with the node that fired them) created in (after, before), read from the store. */
export async function runsCreatedBetween(cluster: Cluster, after: number, before: number): Promise<{ nodeId: string; createdAt: number }[]> {
  const client = new MongoClient(cluster.mongoUri);
  try {
    const docs = await client
      .db(cluster.dbName)
      .collection("runs")
      .find({ createdAt: { $gt: after, $lt: before } }, { projection: { nodeId: 1, createdAt: 1 } })
      .toArray();
    return docs.map((d) => ({ nodeId: String(d.nodeId), createdAt: Number(d.createdAt) }));
  } finally {
    await client.close();
  }
}
