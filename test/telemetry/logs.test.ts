import { create } from "@bufbuild/protobuf";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobSchema } from "../../gen/cronmesh/v1/job_pb.js";
import { clientsFor, waitRun } from "../harness/clients.js";
import { memoryLogger, type Line } from "../harness/memory-logger.js";
import { startTestNode, type TestNode } from "../harness/node.js";
import { startOtlpReceiver, type OtlpReceiver } from "../harness/otlp-receiver.js";
import { startSink, type Sink } from "../harness/sink.js";

/** Polls the captured lines until one matches; log lines of a run are written after GetRun sees it final. */
async function lineWhere(lines: () => Line[], match: (l: Line) => boolean, timeoutMs = 5000): Promise<Line> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = lines().find(match);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no matching log line in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const SECRETS = { token: "tok-SECRET-7f3a", header: "hdr-SECRET-91bc", password: "pw-SECRET-c0de" };

describe("structured logs", () => {
  let receiver: OtlpReceiver;
  let sink: Sink;
  let t: TestNode;
  const captured = memoryLogger("debug");
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    sink = await startSink();
    sink.reply(() => ({ status: 500 }));
    t = await startTestNode("sqlite", { env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: "50" }, log: captured.log });
  });
  afterAll(async () => {
    await t?.stop();
    await sink?.close();
    await receiver?.close();
  });

  it("lines written inside an RPC or a run carry its trace_id and span_id; secrets of a job never appear", async () => {
    const c = clientsFor(t.baseUrl);
    const traceId = randomBytes(16).toString("hex");
    const callerSpan = randomBytes(8).toString("hex");
    const headers = { traceparent: `00-${traceId}-${callerSpan}-01` };
    const target = {
      url: `${sink.url}/secret`,
      headers: { "x-api-key": SECRETS.header },
      auth: { kind: { case: "bearer" as const, value: { token: SECRETS.token } } },
    };
    const { job } = await c.cron.createJob({ job: create(JobSchema, { name: "with secrets", schedule: "0 0 1 1 *", target }) }, { headers });
    await c.cron.updateJob(
      {
        job: create(JobSchema, {
          jobId: job!.jobId,
          target: { ...target, auth: { kind: { case: "basic", value: { username: "u", password: SECRETS.password } } } },
        }),
        updateMask: { paths: ["target"] },
      },
      { headers },
    );
    const { runId } = await c.cron.triggerJob({ jobId: job!.jobId }, { headers });
    await waitRun(c, runId);

    const rpc = await lineWhere(captured.lines, (l) => l.msg === "rpc served" && l.rpc === "cronmesh.v1.CronService/TriggerJob");
    expect(rpc).toMatchObject({ trace_id: traceId, trace_flags: "01" });
    expect(rpc.span_id).toMatch(/^[0-9a-f]{16}$/);
    expect(rpc.span_id).not.toBe(callerSpan);
    const run = await lineWhere(captured.lines, (l) => l.msg === "run failed: in the dead-letter queue" && l.run_id === runId);
    expect(run).toMatchObject({ trace_id: traceId, level: 40, status: "failed", error: "HTTP 500" });
    expect(run.span_id).toMatch(/^[0-9a-f]{16}$/);
    expect(run.span_id).not.toBe(rpc.span_id);

    const listening = captured.lines().find((l) => String(l.msg).startsWith("cronmesh listening"));
    // This node runs without authentication, and says so.
    expect(listening).toMatchObject({ tracing: true, authMode: "none" });
    expect(listening?.msg).toContain("without authentication (AUTH_MODE=none)");
    expect(listening?.trace_id).toBeUndefined();
    expect(sink.deliveries[0]?.headers["x-api-key"]).toBe(SECRETS.header);
    const text = captured.raw.join("");
    for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);
  });
});

describe("the logger", () => {
  it("redacts credential-like fields up to three levels deep", () => {
    const { log, raw } = memoryLogger("info");
    log.info(
      {
        authorization: "Bearer top",
        job: { target: { auth: { token: "deep-token" }, headers: { "x-api-key": "deep-key" } } },
        config: { secrets: { db: "s3" }, password: "pw" },
      },
      "redaction",
    );
    const line = JSON.parse(raw[0]!) as Line;
    expect(line).toMatchObject({
      authorization: "[redacted]",
      job: { target: { auth: "[redacted]", headers: "[redacted]" } },
      config: { secrets: "[redacted]", password: "[redacted]" },
    });
    for (const secret of ["top", "deep-token", "deep-key", "s3", 'pw"']) expect(raw[0]).not.toContain(secret);
  });

  it("writes nothing below its level and no trace fields outside a span", () => {
    const { log, raw } = memoryLogger("warn");
    log.info("dropped");
    log.warn("kept");
    expect(raw).toHaveLength(1);
    expect(JSON.parse(raw[0]!)).not.toHaveProperty("trace_id");
  });
});
