import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ConcurrencyPolicy, JobSchema } from "../../gen/cronmesh/v1/job_pb.js";
import { RunStatus } from "../../gen/cronmesh/v1/run_pb.js";
import { waitRun } from "../harness/clients.js";
import { startCluster, waitFor, type Cluster, type Replica } from "../harness/cluster.js";
import { awaitSlots, firstFireAfter, killLeader, runsCreatedBetween, slotReport, startStorm, stormSize, type Storm } from "../harness/storm.js";

/** The default lease TTL: a failover takes about this long. */
const TTL_MS = 3000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Three replicas (separate processes), a three-member etcd, FerretDB and a loopback sink, with
 * a storm of every-second catch-up jobs firing throughout. Every scenario breaks something; each
 * checks its own promise, and the last one checks the promise of them all: no slot delivered by
 * two runs, no slot lost.
 */
describe("cluster under faults", () => {
  let cluster: Cluster;
  let storm: Storm;

  beforeAll(async () => {
    cluster = await startCluster({
      replicas: 3,
      etcdMembers: 3,
      ttlMs: TTL_MS,
      // History trimming scans the run collections, which FerretDB cannot afford under a storm.
      env: { CLAIM_SCAN_MS: "1000", STATS_FLUSH_MS: "2000", HISTORY_TRIM_MS: "600000", RUN_WRITE_BATCH_MS: "100" },
    });
    storm = await startStorm(cluster, stormSize());
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  it("fails over within TTL + 1 s, ten leader kills in a row", async () => {
    const failovers: number[] = [];
    for (let i = 0; i < 10; i++) {
      const { leader, killedAt } = await killLeader(cluster);
      failovers.push(await firstFireAfter(cluster, storm, killedAt, 15_000));
      await leader.start();
      await sleep(500);
    }
    expect(Math.max(...failovers), `failovers ${failovers.join(", ")} ms`).toBeLessThanOrEqual(TTL_MS + 1000);
  }, 180_000);

  it("lets a frozen leader fire nothing once its lease could have expired", async () => {
    // The previous scenario's last kill may still be in its failover: wait for the next leader.
    let found: Replica | undefined;
    await waitFor(async () => (found = await cluster.leader()) !== undefined, 15_000, "a leader");
    const leader = found!;
    const stoppedAt = Date.now();
    leader.signal("SIGSTOP");
    await sleep(TTL_MS + 2000);
    const takeover = Date.now();
    leader.signal("SIGCONT");
    await sleep(3000);
    const late = (await runsCreatedBetween(cluster, stoppedAt + TTL_MS, Date.now())).filter((r) => r.nodeId === leader.nodeId);
    expect(late).toEqual([]);
    const byOthers = await runsCreatedBetween(cluster, stoppedAt + TTL_MS, takeover);
    expect(byOthers.length).toBeGreaterThan(0);
  }, 60_000);

  it("keeps firing without one etcd member, stops without quorum and catches up after", async () => {
    const [m0, m1, m2] = cluster.etcd.members;
    m2!.signal("SIGKILL");
    await m2!.stop();
    const oneDown = Date.now();
    await sleep(5000);
    expect(slotReport(cluster, storm, Math.ceil(oneDown / 1000) * 1000, Date.now() - 1500).lost).toEqual([]);
    await m2!.start();
    await sleep(2000);
    m0!.signal("SIGKILL");
    m1!.signal("SIGKILL");
    await Promise.all([m0!.stop(), m1!.stop()]);
    const quorumLost = Date.now();
    await sleep(6000);
    const restoredAt = Date.now();
    await Promise.all([m0!.start(), m1!.start()]);
    // Firing stops once the leader cannot confirm its lease (within a TTL of the loss) ...
    expect(await runsCreatedBetween(cluster, quorumLost + TTL_MS, restoredAt)).toEqual([]);
    // ... and resumes after, catching up the slots of the outage.
    const report = await awaitSlots(cluster, storm, Math.ceil(quorumLost / 1000) * 1000, restoredAt, 30_000);
    expect(report.lost).toEqual([]);
  }, 90_000);

  it("loses no run when FerretDB restarts in the middle of the storm", async () => {
    await cluster.ferret.crash();
    const down = Date.now();
    await sleep(3000);
    await cluster.ferret.restart();
    const up = Date.now();
    const report = await awaitSlots(cluster, storm, Math.ceil(down / 1000) * 1000, up + 2000, 45_000);
    expect(report.lost).toEqual([]);
  }, 90_000);

  it("re-claims the run of a worker killed mid-request, on another replica", async () => {
    const c = cluster.clients();
    const path = "/slow-once";
    let calls = 0;
    cluster.sink.reply((d) => (d.path === path && calls++ === 0 ? { status: 200, delayMs: 60_000 } : { status: 200, body: "ok" }));
    const { job } = await c.cron.createJob({
      job: create(JobSchema, {
        name: "slow once",
        schedule: "0 0 1 1 *",
        concurrencyPolicy: ConcurrencyPolicy.ALLOW,
        target: { url: `${cluster.sink.url}${path}`, timeout: durationFromMs(60_000) },
      }),
    });
    const { runId } = await c.cron.triggerJob({ jobId: job!.jobId });
    const [first] = await cluster.sink.waitFor((d) => d.path === path, 1, 10_000);
    const worker = cluster.replicas.find((r) => r.nodeId === first!.nodeId)!;
    worker.signal("SIGKILL");
    await worker.exited();
    const [, again] = await cluster.sink.waitFor((d) => d.path === path, 2, 20_000);
    expect(again).toMatchObject({ runId, nodeId: expect.not.stringMatching(worker.nodeId) });
    const live = cluster.clients();
    expect((await waitRun(live, runId, 20_000)).status).toBe(RunStatus.SUCCEEDED);
    cluster.sink.reply(() => ({ status: 200, body: "ok" }));
    await worker.start();
  }, 90_000);

  it("reports the leader, the members, the jobs and the next runs from any replica", async () => {
    let leaderId: string | undefined;
    await waitFor(async () => (leaderId = await cluster.electedLeader()) !== undefined, 15_000, "an elected leader");
    for (const replica of cluster.replicas) {
      // The previous scenario restarted a replica: it names the leader once its session is up.
      await vi.waitFor(
        async () => {
          const status = await cluster.clients(replica).cron.getClusterStatus({ nextRunsLimit: 5 });
          expect(status).toMatchObject({ leaderId, nodeId: replica.nodeId, isLeader: replica.nodeId === leaderId, mode: "cluster" });
          expect(status.members.map((m) => m.nodeId).sort()).toEqual(["r0", "r1", "r2"]);
          expect(status.members.find((m) => m.isLeader)?.nodeId).toBe(leaderId);
          expect(Number(status.jobsTotal)).toBeGreaterThanOrEqual(storm.jobIds.size);
          expect(status.nextRuns).toHaveLength(5);
        },
        { timeout: 20_000, interval: 250 },
      );
    }
  });

  it("cancels, from one replica, a run executing on another, aborting its request", async () => {
    const path = "/slow-cancel";
    cluster.sink.reply((d) => (d.path === path ? { status: 200, delayMs: 60_000 } : { status: 200, body: "ok" }));
    const c = cluster.clients();
    const { job } = await c.cron.createJob({
      job: create(JobSchema, { name: "slow", schedule: "0 0 1 1 *", target: { url: `${cluster.sink.url}${path}`, timeout: durationFromMs(60_000) } }),
    });
    const { runId } = await c.cron.triggerJob({ jobId: job!.jobId });
    const [delivery] = await cluster.sink.waitFor((d) => d.path === path, 1, 10_000);
    const other = cluster.replicas.find((r) => r.nodeId !== delivery!.nodeId && r.running())!;
    const { run } = await cluster.clients(other).runs.cancelRun({ runId, reason: "operator" });
    expect(run).toMatchObject({ status: RunStatus.CANCELLED, nodeId: delivery!.nodeId });
    cluster.sink.reply(() => ({ status: 200, body: "ok" }));
  });

  it("streams, on one replica, the runs other replicas execute", async () => {
    const jobId = [...storm.jobIds][0]!;
    const watcher = cluster.replicas[0]!;
    const controller = new AbortController();
    const executors = new Set<string>();
    const since = Date.now();
    let streamError: unknown;
    const stream = cluster.clients(watcher).runs.watchRuns({ jobId }, { signal: controller.signal });
    const reading = (async () => {
      for await (const msg of stream) if (msg.run!.status === RunStatus.SUCCEEDED) executors.add(msg.run!.nodeId);
    })().catch((err: unknown) => void (streamError = controller.signal.aborted ? undefined : err));
    try {
      await waitFor(() => streamError !== undefined || [...executors].some((n) => n !== watcher.nodeId), 20_000, "a run executed elsewhere to be streamed");
    } catch (err) {
      const executed = cluster.sink.deliveries.filter((d) => d.jobId === jobId && d.receivedAt >= since).map((d) => d.nodeId);
      throw new Error(`${String(err)}; streamed from ${[...executors].join(",") || "none"}; delivered by ${executed.join(",")}`);
    }
    expect(streamError).toBeUndefined();
    controller.abort();
    await reading;
  }, 60_000);

  it("hands leadership over on SIGTERM well under a second, and loses no slot in a rolling restart", async () => {
    const from = Math.ceil(Date.now() / 1000) * 1000;
    const handovers: number[] = [];
    for (const replica of cluster.replicas) {
      const wasLeader = (await cluster.electedLeader()) === replica.nodeId;
      const stoppedAt = Date.now();
      replica.signal("SIGTERM");
      if (wasLeader) {
        // The election as etcd holds it, polled every 20 ms: the moment another replica leads.
        for (;;) {
          const elected = await cluster.electedLeader();
          if (elected !== undefined && elected !== replica.nodeId) break;
          if (Date.now() - stoppedAt > 10_000) throw new Error("no new leader within 10 s");
          await sleep(20);
        }
        handovers.push(Date.now() - stoppedAt);
      }
      await replica.exited();
      await replica.start();
      await waitFor(async () => (await cluster.leader()) !== undefined, 15_000, "a leader");
    }
    expect(handovers.length).toBeGreaterThanOrEqual(1);
    expect(Math.max(...handovers), `handovers ${handovers.join(", ")} ms`).toBeLessThan(1000);
    const report = await awaitSlots(cluster, storm, from, Date.now() - 2000, 30_000);
    expect(report.lost).toEqual([]);
  }, 120_000);

  it("delivered every slot of every storm job, and none twice, through all of the above", async () => {
    const report = await awaitSlots(cluster, storm, storm.firstSlot, Date.now() - 3000, 45_000);
    expect(report.duplicates).toEqual([]);
    expect(report.lost).toEqual([]);
  }, 60_000);
});
