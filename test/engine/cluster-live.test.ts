import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { apiDriver, type ApiDriver, type Obj, type Protocol } from "../harness/api-driver.js";
import { startTestNode, type TestNode } from "../harness/node.js";
import { startSink, type Sink } from "../harness/sink.js";
import { waitFor } from "../harness/cluster.js";
import "../harness/provided-context.js";
import { LIVE_RUNS_TOPIC } from "../../src/scheduler/live-runs.js";

/**
 * Two replicas in one process, on one MongoDB and one etcd: a run executing on one replica is
 * seen running, and waited for, through the other.
 */
describe("runs executing on another replica", () => {
  let sink: Sink;
  let executor: TestNode;
  let other: TestNode;
  let delayMs = 1500;

  beforeAll(async () => {
    sink = await startSink();
    sink.reply(() => ({ status: 200, body: "ok", delayMs }));
    // A run's state reaches the store a minute after it starts: a read that sees it running sees its live state.
    // Authentication is not what this test is about (AUTH_MODE=none on purpose: cluster mode requires it named).
    const env = {
      AUTH_MODE: "none",
      ETCD_ENDPOINTS: inject("etcdEndpoints").join(","),
      ETCD_PREFIX: `live-${randomBytes(4).toString("hex")}/`,
      ETCD_TTL_MS: "2000",
      RUN_CHECKPOINT_MS: "60000",
    };
    executor = await startTestNode("mongo", { env: { ...env, NODE_ID: "replica-a" } });
    other = await startTestNode("mongo", { env: { ...env, NODE_ID: "replica-b" }, reuse: { dir: executor.data.dir + "-b", dbName: executor.data.dbName } });
    // Replica b claims no run: every run executes on replica a, whichever replica is asked.
    other.node.claimLoop.stop();
    // Each replica knows the other answers for its live runs, and has asked once (its reply watch is open).
    await waitFor(() => other.node.coordinator.hasPeerSubscribers(`ask.${LIVE_RUNS_TOPIC}`), 10_000, "replica b to see replica a answering");
    await apiDriver("rest", other.baseUrl).clusterStatus();
  }, 60_000);
  afterAll(async () => {
    await other?.halt();
    await executor?.stop();
    await sink?.close();
  });

  describe.each<Protocol>(["rest", "connect"])("over %s", (protocol) => {
    let viaOther: ApiDriver;
    beforeAll(() => {
      viaOther = apiDriver(protocol, other.baseUrl);
    });
    const job = (extra: Obj = {}): Obj => ({
      name: `live ${protocol}`,
      schedule: "0 0 1 1 *",
      concurrency_policy: "CONCURRENCY_POLICY_ALLOW",
      target: { url: `${sink.url}/${protocol}`, timeout: "10s" },
      ...extra,
    });

    it("reads running through a replica that does not execute the run, before its state is stored: GetRun, ListRuns and the cluster status", async () => {
      delayMs = 1500;
      const created = await viaOther.createJob(job());
      const { run_id } = await viaOther.triggerJob(created.job_id);
      const [delivery] = await sink.waitFor((d) => d.runId === run_id, 1, 10_000);
      expect(delivery!.nodeId).toBe("replica-a");
      const [one, running, cluster] = await Promise.all([
        viaOther.getRun(run_id),
        viaOther.listRunsPage({ job_id: created.job_id, status: "running" }),
        viaOther.clusterStatus(),
      ]);
      // Only the executing replica knows it runs: the store still has it queued.
      expect(one).toMatchObject({ status: "running", node_id: "replica-a" });
      expect(running.runs.map((r: Obj) => r.run_id)).toEqual([run_id]);
      expect(running.total_size).toBe(1);
      expect(cluster).toMatchObject({ mode: "cluster", node_id: "replica-b" });
      expect(cluster.running).toBeGreaterThanOrEqual(1);
    });

    it("TriggerJob with wait, on a replica that does not execute the run, answers with the finished run", async () => {
      delayMs = 300;
      const created = await viaOther.createJob(job());
      const answer = await viaOther.triggerWait(created.job_id, "30s");
      expect(answer.run).toMatchObject({ status: "succeeded", node_id: "replica-a", status_code: 200, response_excerpt: "ok" });
      expect(sink.deliveries.filter((d) => d.runId === answer.run_id).map((d) => d.nodeId)).toEqual(["replica-a"]);
    });
  });
});
