import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobSchema } from "../../gen/cronmesh/v1/job_pb.js";
import { clientsFor, waitRun } from "../harness/clients.js";
import { startTestNode, type TestNode } from "../harness/node.js";
import { scrape, valueOf } from "../harness/scrape.js";
import { startSink, type Sink } from "../harness/sink.js";

describe("/metrics in Prometheus text format", () => {
  let t: TestNode;
  let sink: Sink;
  beforeAll(async () => {
    sink = await startSink();
    t = await startTestNode("sqlite");
  });
  afterAll(async () => {
    await t?.stop();
    await sink?.close();
  });

  it("counts fires, lateness, runs, attempts, RPCs, the DLQ and leadership", async () => {
    const c = clientsFor(t.baseUrl);
    sink.reply((d) => (d.path === "/fail" ? { status: 500 } : { status: 200 }));
    const ok = await c.cron.createJob({ job: create(JobSchema, { name: "m", schedule: "* * * * * *", target: { url: `${sink.url}/ok` } }) });
    await sink.waitFor((d) => d.path === "/ok", 2, 10_000);
    await c.cron.pauseJob({ jobId: ok.job!.jobId });
    const bad = await c.cron.createJob({ job: create(JobSchema, { name: "f", schedule: "0 0 1 1 *", target: { url: `${sink.url}/fail` } }) });
    await waitRun(c, (await c.cron.triggerJob({ jobId: bad.job!.jobId })).runId);

    const m = await scrape(t.baseUrl);
    expect(m.get("cronmesh_fires_total")?.type).toBe("COUNTER");
    expect(valueOf(m.get("cronmesh_fires_total"), { outcome: "queued" })).toBeGreaterThanOrEqual(2);
    const lateness = m.get("cronmesh_fire_lateness_seconds");
    expect(lateness?.type).toBe("HISTOGRAM");
    expect(Number(lateness?.metrics[0]?.buckets?.["+Inf"])).toBeGreaterThanOrEqual(2);
    const startLateness = m.get("cronmesh_run_start_lateness_seconds");
    expect(startLateness?.type).toBe("HISTOGRAM");
    expect(Number(startLateness?.metrics[0]?.buckets?.["+Inf"])).toBeGreaterThanOrEqual(3);
    expect(valueOf(m.get("cronmesh_runs_finished_total"), { status: "succeeded" })).toBeGreaterThanOrEqual(2);
    expect(valueOf(m.get("cronmesh_runs_finished_total"), { status: "failed" })).toBe(1);
    expect(valueOf(m.get("cronmesh_attempts_total"), { result: "failure" })).toBe(1);
    expect(valueOf(m.get("cronmesh_dead_letter_depth"))).toBe(1);
    expect(valueOf(m.get("cronmesh_is_leader"))).toBe(1);
    expect(valueOf(m.get("cronmesh_queue_depth"))).toBe(0);
    expect(m.get("cronmesh_rpc_duration_seconds")?.type).toBe("HISTOGRAM");
    expect(valueOf(m.get("cronmesh_rpcs_total"), { method: "CreateJob", code: "ok" })).toBe(2);
  });

  it("labels failed RPCs with their code", async () => {
    await fetch(`${t.baseUrl}/api/v1/cron/jobs/job_missing`);
    const m = await scrape(t.baseUrl);
    expect(valueOf(m.get("cronmesh_rpcs_total"), { method: "GetJob", code: "not_found" })).toBe(1);
  });
});
