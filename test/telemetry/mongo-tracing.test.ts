import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobSchema } from "../../gen/cronmesh/v1/job_pb.js";
import { clientsFor } from "../harness/clients.js";
import { startTestNode, type TestNode } from "../harness/node.js";
import { KIND, startOtlpReceiver, waitForSpans, type OtlpReceiver } from "../harness/otlp-receiver.js";

// Nothing in this file may import the mongodb driver before the node starts: the driver has to be
// loaded after the tracing SDK enabled its MongoDB instrumentation (the node does this itself).
describe("MongoDB calls are traced (@opentelemetry/instrumentation-mongodb)", () => {
  let receiver: OtlpReceiver;
  let t: TestNode;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    t = await startTestNode("mongo", { env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: "50" } });
  });
  afterAll(async () => {
    await t?.stop();
    await receiver?.close();
  });

  it("a CreateJob RPC has client spans of its MongoDB commands as children", async () => {
    const c = clientsFor(t.baseUrl);
    await c.cron.createJob({
      job: create(JobSchema, {
        name: "mongo-traced-job",
        schedule: "0 0 1 1 *",
        target: { url: "http://127.0.0.1:9/x", auth: { kind: { case: "bearer", value: { token: "tok-in-mongo" } } } },
      }),
    });
    const { rpc, db } = await waitForSpans(receiver, (spans) => {
      const rpc = spans.find((s) => s.name === "cronmesh.v1.CronService/CreateJob");
      const db = rpc && spans.filter((s) => s.traceId === rpc.traceId && s.scope.includes("mongodb"));
      return db && db.length > 0 ? { rpc, db } : undefined;
    });
    expect(db.every((s) => s.kind === KIND.CLIENT && s.parentSpanId === rpc.spanId)).toBe(true);
    const insert = db.find((s) => s.name === "insert jobs");
    expect(insert?.attributes).toMatchObject({ "db.system.name": "mongodb", "db.operation.name": "insert", "db.collection.name": "jobs" });
    // Only the command's shape is exported, never a value (jobs hold credentials).
    const text = String(insert?.attributes["db.query.text"]);
    expect(text).toMatch(/^\{"_id":"\?","status":"\?"/);
    expect(text.length).toBeLessThanOrEqual(512);
    for (const value of ["mongo-traced-job", "127.0.0.1", "tok-in-mongo"]) expect(text).not.toContain(value);
  });
});
