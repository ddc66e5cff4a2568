import { create } from "@bufbuild/protobuf";
import { randomBytes } from "node:crypto";
import { afterAll, expect, it } from "vitest";
import { JobSchema } from "../../gen/cronmesh/v1/job_pb.js";
import { clientsFor, waitRun } from "../harness/clients.js";
import { startTestNode, type TestNode } from "../harness/node.js";
import { startOtlpReceiver, waitForSpans } from "../harness/otlp-receiver.js";
import { startSink } from "../harness/sink.js";

const nodes: TestNode[] = [];
afterAll(async () => {
  for (const n of nodes) await n.stop().catch(() => undefined);
});

it("a run executed by another node than the one that created it continues its trace from the stored traceparent", async () => {
  const receiver = await startOtlpReceiver();
  const sink = await startSink();
  const env = (nodeId: string) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: "50", SHUTDOWN_GRACE_MS: "100", NODE_ID: nodeId });
  try {
    // Node A records the run and starts it, then stops mid-request: the run goes back to queued.
    sink.reply(() => ({ status: 200, delayMs: 5000 }));
    const a = await startTestNode("sqlite", { env: env("node-a") });
    const traceId = randomBytes(16).toString("hex");
    const ca = clientsFor(a.baseUrl);
    const { job } = await ca.cron.createJob({ job: create(JobSchema, { name: "handed over", schedule: "0 0 1 1 *", target: { url: `${sink.url}/h` } }) });
    const { runId } = await ca.cron.triggerJob({ jobId: job!.jobId }, { headers: { traceparent: `00-${traceId}-${randomBytes(8).toString("hex")}-01` } });
    await sink.waitFor(() => true, 1, 10_000);
    await a.halt();

    // Node B (a new SDK in this process, as after a restart) finds the run and executes it.
    sink.reply(() => ({ status: 200 }));
    const b = await startTestNode("sqlite", { env: env("node-b"), reuse: a.data });
    nodes.push(b);
    const run = await waitRun(clientsFor(b.baseUrl), runId, 15_000, (r) => r.attempts.length > 0 && r.finishedAt !== undefined);
    expect(run.traceId).toBe(traceId);
    const [, retry] = await sink.waitFor(() => true, 2, 10_000);

    const { rpc, runSpans, attempt } = await waitForSpans(receiver, (spans) => {
      const rpc = spans.find((s) => s.name === "cronmesh.v1.CronService/TriggerJob" && s.traceId === traceId);
      const runSpans = spans.filter((s) => s.name === "cronmesh.run" && s.attributes["cronmesh.run.id"] === runId);
      const onB = runSpans.find((s) => s.resource["service.instance.id"] === "node-b");
      const attempt = onB && spans.find((s) => s.name === "POST" && s.parentSpanId === onB.spanId);
      return rpc && attempt && runSpans.length === 2 ? { rpc, runSpans, attempt } : undefined;
    });
    expect(rpc.resource["service.instance.id"]).toBe("node-a");
    for (const s of runSpans) expect(s).toMatchObject({ traceId, parentSpanId: rpc.spanId });
    expect(runSpans.map((s) => s.attributes["cronmesh.run.status"]).sort()).toEqual(["queued", "succeeded"]);
    expect(retry!.headers.traceparent).toBe(`00-${traceId}-${attempt.spanId}-01`);
  } finally {
    await sink.close();
    await receiver.close();
  }
});
