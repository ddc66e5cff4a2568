import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobSchema, MisfirePolicy } from "../../gen/cronmesh/v1/job_pb.js";
import { RunTrigger } from "../../gen/cronmesh/v1/run_pb.js";
import { clientsFor, waitRun } from "../harness/clients.js";
import { startTestNode, type StoreKind } from "../harness/node.js";
import { startSink, type Sink } from "../harness/sink.js";
import { createFakeClock } from "../support/fake-clock.js";

const T0 = Date.parse("2026-03-01T00:00:00Z");
const iso = (offsetS: number) => new Date(T0 + offsetS * 1000).toISOString();

/** [case, policy, expected fired slots (seconds after T0), expected skipped count] */
const CASES: [string, MisfirePolicy, number[], number][] = [
  ["skip jumps to the next future slot and counts the missed ones", MisfirePolicy.SKIP, [], 6],
  ["fire_once fires the latest missed slot once", MisfirePolicy.FIRE_ONCE, [60], 5],
  ["catch_up fires every missed slot within the window, oldest first", MisfirePolicy.CATCH_UP, [10, 20, 30, 40, 50, 60], 0],
];

describe.each<StoreKind>(["sqlite", "mongo"])("a restart after 65 s of downtime on %s", (kind) => {
  let sink: Sink;
  beforeAll(async () => {
    sink = await startSink();
  });
  afterAll(async () => {
    await sink?.close();
  });

  it.each(CASES)("%s", async (_name, policy, firedAt, skipped) => {
    const clock = createFakeClock(T0);
    const first = await startTestNode(kind, { clock });
    const path = `/misfire/${kind}/${policy}`;
    const { job } = await clientsFor(first.baseUrl).cron.createJob({
      job: create(JobSchema, {
        name: "every ten seconds",
        schedule: "*/10 * * * * *",
        misfirePolicy: policy,
        catchupWindow: durationFromMs(60_000),
        target: { url: `${sink.url}${path}` },
      }),
    });
    await first.halt();

    clock.set(T0 + 65_000);
    const second = await startTestNode(kind, { clock, reuse: first.data });
    try {
      const c = clientsFor(second.baseUrl);
      await second.node.fireLoop.settled();
      clock.advance(1);
      await second.node.fireLoop.settled();
      const { runs } = await c.runs.listRuns({ jobId: job!.jobId });
      await Promise.all(runs.map((r) => waitRun(c, r.runId)));
      const fired = runs.filter((r) => r.trigger === RunTrigger.CATCH_UP);
      expect(fired.length).toBe(firedAt.length);
      const delivered = sink.deliveries
        .filter((d) => d.path === path)
        .map((d) => d.scheduledAt)
        .sort();
      expect(delivered).toEqual(firedAt.map(iso));
      const { job: after } = await c.cron.getJob({ jobId: job!.jobId });
      expect(after!.skippedCount).toBe(BigInt(skipped));
      expect(new Date(Number(after!.nextTriggerAt!.seconds) * 1000).toISOString()).toBe(iso(70));
    } finally {
      await second.stop();
    }
  });
});
