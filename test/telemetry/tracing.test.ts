import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CronService } from "../../gen/cronmesh/v1/cron_service_pb.js";
import { JobSchema } from "../../gen/cronmesh/v1/job_pb.js";
import { clientsFor, codeOf, waitRun, type Clients } from "../harness/clients.js";
import { startTestNode, type TestNode } from "../harness/node.js";
import { KIND, startOtlpReceiver, STATUS, waitForSpans, type OtlpReceiver, type ReceivedSpan } from "../harness/otlp-receiver.js";
import { startSink, type Sink } from "../harness/sink.js";

/** A caller's W3C trace context: a fresh trace id and the caller's own span id. */
function clientTraceContext() {
  const traceId = randomBytes(16).toString("hex");
  const spanId = randomBytes(8).toString("hex");
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

const named = (spans: ReceivedSpan[], name: string, where: (s: ReceivedSpan) => boolean = () => true) => spans.find((s) => s.name === name && where(s));

/** A job that never fires by itself (1 January, midnight), calling the sink at `path`. */
async function manualJob(c: Clients, sink: Sink, path: string, maxAttempts = 1): Promise<string> {
  const retry = { maxAttempts, initialBackoff: { nanos: 10_000_000 } };
  const { job } = await c.cron.createJob({ job: create(JobSchema, { name: path, schedule: "0 0 1 1 *", target: { url: `${sink.url}${path}` }, retry }) });
  return job!.jobId;
}

describe("traces exported over OTLP/HTTP (protobuf) to a loopback receiver", () => {
  let receiver: OtlpReceiver;
  let sink: Sink;
  let t: TestNode;
  let c: Clients;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    sink = await startSink();
    sink.reply((d) => (d.path === "/slow" ? { status: 200, delayMs: 2500 } : d.path === "/fail" ? { status: 503 } : { status: 200 }));
    // A 50 ms export delay keeps the test fast; waitForSpans also force-flushes.
    t = await startTestNode("sqlite", {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: "50", OTEL_SERVICE_NAME: "cronmesh-test", NODE_ID: "node-a" },
    });
    c = clientsFor(t.baseUrl);
  });
  afterAll(async () => {
    await t?.stop();
    await sink?.close();
    await receiver?.close();
  });

  it("TriggerJob continues the caller's trace: RPC → run → attempt, and the target gets the attempt's traceparent", async () => {
    const caller = clientTraceContext();
    const jobId = await manualJob(c, sink, "/traced");
    const { runId } = await c.cron.triggerJob({ jobId }, { headers: { traceparent: caller.traceparent } });
    const run = await waitRun(c, runId);
    expect(run.traceId).toBe(caller.traceId);
    const [delivery] = await sink.waitFor((d) => d.path === "/traced", 1, 10_000);

    const tree = await waitForSpans(receiver, (spans) => {
      const rpc = named(spans, "cronmesh.v1.CronService/TriggerJob", (s) => s.traceId === caller.traceId);
      const runSpan = rpc && named(spans, "cronmesh.run", (s) => s.parentSpanId === rpc.spanId);
      const attempt = runSpan && named(spans, "POST", (s) => s.parentSpanId === runSpan.spanId);
      return attempt ? { rpc: rpc!, run: runSpan!, attempt } : undefined;
    });
    expect(tree.rpc).toMatchObject({
      kind: KIND.SERVER,
      parentSpanId: caller.spanId,
      attributes: { "rpc.system": "connect_rpc", "rpc.service": "cronmesh.v1.CronService", "rpc.method": "TriggerJob" },
      resource: { "service.name": "cronmesh-test", "service.instance.id": "node-a" },
    });
    expect(tree.rpc.attributes["rpc.connect_rpc.error_code"]).toBeUndefined();
    expect(tree.run).toMatchObject({
      kind: KIND.CONSUMER,
      traceId: caller.traceId,
      attributes: { "cronmesh.run.id": runId, "cronmesh.job.id": jobId, "cronmesh.run.trigger": "manual", "cronmesh.run.status": "succeeded" },
    });
    expect(tree.attempt).toMatchObject({
      kind: KIND.CLIENT,
      traceId: caller.traceId,
      status: { code: STATUS.UNSET },
      attributes: {
        "http.request.method": "POST",
        "url.full": `${sink.url}/traced`,
        "server.address": "127.0.0.1",
        "server.port": Number(new URL(sink.url).port),
        "http.response.status_code": 200,
        "cronmesh.attempt": 1,
      },
    });
    expect(tree.attempt.attributes["http.request.resend_count"]).toBeUndefined();
    expect(delivery!.headers.traceparent).toBe(`00-${caller.traceId}-${tree.attempt.spanId}-01`);
    expect(receiver.paths.every((p) => p === "/v1/traces")).toBe(true);
  });

  it("failing attempts are error spans with their status code and resend count; the run span records failed", async () => {
    const caller = clientTraceContext();
    const jobId = await manualJob(c, sink, "/fail", 2);
    const { runId } = await c.cron.triggerJob({ jobId }, { headers: { traceparent: caller.traceparent } });
    await waitRun(c, runId);
    const { run, attempts } = await waitForSpans(receiver, (spans) => {
      const run = named(spans, "cronmesh.run", (s) => s.attributes["cronmesh.run.id"] === runId);
      const attempts = run ? spans.filter((s) => s.name === "POST" && s.parentSpanId === run.spanId) : [];
      return attempts.length === 2 ? { run: run!, attempts } : undefined;
    });
    expect(run.status.code).toBe(STATUS.ERROR);
    expect(run.attributes["cronmesh.run.status"]).toBe("failed");
    const [first, second] = attempts.sort((a, b) => Number(a.attributes["cronmesh.attempt"]) - Number(b.attributes["cronmesh.attempt"]));
    for (const a of [first, second])
      expect(a).toMatchObject({ status: { code: STATUS.ERROR }, attributes: { "http.response.status_code": 503, "error.type": "503" } });
    expect(second!.attributes).toMatchObject({ "cronmesh.attempt": 2, "http.request.resend_count": 1 });
  });

  it("ReplayRun and RedriveRun continue their caller's trace, not the original run's", async () => {
    const jobId = await manualJob(c, sink, "/fail");
    const original = await waitRun(c, (await c.cron.triggerJob({ jobId })).runId);
    for (const call of ["replayRun", "redriveRun"] as const) {
      const caller = clientTraceContext();
      const { run } = await c.runs[call]({ runId: original.runId }, { headers: { traceparent: caller.traceparent } });
      expect(run!.traceId).toBe(caller.traceId);
      expect(run!.traceId).not.toBe(original.traceId);
      const method = call === "replayRun" ? "ReplayRun" : "RedriveRun";
      await waitForSpans(receiver, (spans) => {
        const rpc = named(spans, `cronmesh.v1.RunService/${method}`, (s) => s.traceId === caller.traceId);
        return rpc && named(spans, "cronmesh.run", (s) => s.parentSpanId === rpc.spanId && s.attributes["cronmesh.run.id"] === run!.runId);
      });
    }
  });

  it("a REST call gets the same RPC span plus its route, and continues the caller's trace", async () => {
    const caller = clientTraceContext();
    const jobId = await manualJob(c, sink, "/rest");
    const res = await fetch(`${t.baseUrl}/api/v1/cron/jobs/${jobId}/trigger`, {
      method: "POST",
      headers: { "content-type": "application/json", traceparent: caller.traceparent },
      body: "{}",
    });
    expect(res.status).toBe(200);
    const rpc = await waitForSpans(receiver, (spans) => named(spans, "cronmesh.v1.CronService/TriggerJob", (s) => s.traceId === caller.traceId));
    expect(rpc).toMatchObject({
      kind: KIND.SERVER,
      parentSpanId: caller.spanId,
      attributes: { "rpc.method": "TriggerJob", "http.route": "/api/v1/cron/jobs/{job_id}/trigger", "http.request.method": "POST" },
    });
  });

  it("a gRPC call records its status code; a caller's mistake does not mark the span as failed", async () => {
    const grpc = createClient(CronService, createGrpcTransport({ baseUrl: t.baseUrl }));
    const caller = clientTraceContext();
    expect(await codeOf(grpc.getJob({ jobId: "job_missing" }, { headers: { traceparent: caller.traceparent } }))).toBe(5);
    const rpc = await waitForSpans(receiver, (spans) => named(spans, "cronmesh.v1.CronService/GetJob", (s) => s.traceId === caller.traceId));
    expect(rpc.attributes).toMatchObject({ "rpc.system": "grpc", "rpc.grpc.status_code": 5 });
    expect(rpc.status.code).toBe(STATUS.UNSET);
  });

  it("each scheduled fire starts a trace: job, slot, due_at, lateness, node and lock; a forbid skip did not get the lock", async () => {
    // Every second, while a run takes 2.5 s: under forbid, the slots in between are skipped.
    const { job } = await c.cron.createJob({ job: create(JobSchema, { name: "tick", schedule: "* * * * * *", target: { url: `${sink.url}/slow` } }) });
    const jobId = job!.jobId;
    const [delivery] = await sink.waitFor((d) => d.jobId === jobId, 1, 10_000);
    const fires = await waitForSpans(receiver, (spans) => {
      const mine = spans.filter((s) => s.name === "cronmesh.fire" && s.attributes["cronmesh.job.id"] === jobId);
      return mine.some((s) => s.attributes["cronmesh.lock.acquired"] === false) ? mine : undefined;
    });
    await c.cron.pauseJob({ jobId });

    const fired = fires.find((s) => s.traceId === delivery!.headers.traceparent?.toString().split("-")[1])!;
    expect(fired).toMatchObject({
      kind: KIND.PRODUCER,
      parentSpanId: "",
      attributes: {
        "cronmesh.slot": delivery!.scheduledAt,
        "cronmesh.node.id": "node-a",
        "cronmesh.lock.acquired": true,
        "cronmesh.fire.outcome": "queued",
        "cronmesh.run.trigger": "schedule",
      },
    });
    expect(Date.parse(String(fired.attributes["cronmesh.due_at"]))).toBeGreaterThanOrEqual(Date.parse(delivery!.scheduledAt));
    expect(fired.attributes["cronmesh.lateness_ms"]).toBeGreaterThanOrEqual(0);
    expect(fired.attributes["cronmesh.lateness_ms"]).toBeLessThan(2000);
    const runId = String(fired.attributes["cronmesh.run.id"]);
    expect((await c.runs.getRun({ runId })).run?.traceId).toBe(fired.traceId);

    const skipped = fires.find((s) => s.attributes["cronmesh.lock.acquired"] === false)!;
    expect(skipped.attributes["cronmesh.fire.outcome"]).toBe("skipped");
    expect(skipped.traceId).not.toBe(fired.traceId);

    const runSpan = await waitForSpans(receiver, (spans) => named(spans, "cronmesh.run", (s) => s.parentSpanId === fired.spanId));
    expect(runSpan.attributes).toMatchObject({ "cronmesh.run.id": runId, "cronmesh.run.trigger": "schedule" });
  });
});
