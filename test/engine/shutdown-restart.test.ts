import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobSchema, RetryOn } from "../../gen/cronmesh/v1/job_pb.js";
import { RunStatus } from "../../gen/cronmesh/v1/run_pb.js";
import { clientsFor, waitRun } from "../harness/clients.js";
import { rest, startTestNode, type StoreKind } from "../harness/node.js";
import { startSink, type Sink } from "../harness/sink.js";

const INTERRUPTED = /^interrupted by the node shutting down/;

describe.each<StoreKind>(["sqlite", "mongo"])("a run cut short by a node shutdown on %s", (kind) => {
  let sink: Sink;
  beforeAll(async () => {
    sink = await startSink();
  });
  afterAll(async () => {
    await sink?.close();
  });

  /**
   * Starts a node, triggers a job whose first request the sink holds (for a minute), halts the node while that
   * request is in flight, and restarts on the same data. `answer` is how the sink answers every
   * later request. Returns the run as the restarted node finishes it, read over Connect and
   * REST, and the attempt numbers the sink received.
   */
  const interruptThenRestart = async (path: string, maxAttempts: number, answer: number) => {
    let held = false;
    sink.reply((d) => {
      if (d.path !== path) return { status: 200 };
      if (held) return { status: answer, body: `answer ${d.attempt}` };
      held = true;
      return { status: 200, delayMs: 60_000 };
    });
    const first = await startTestNode(kind, { env: { SHUTDOWN_GRACE_MS: "100" } });
    const { job } = await clientsFor(first.baseUrl).cron.createJob({
      job: create(JobSchema, {
        name: "interrupted",
        schedule: "0 0 1 1 *",
        target: { url: `${sink.url}${path}`, timeout: durationFromMs(120_000) },
        retry: { maxAttempts, initialBackoff: durationFromMs(10), maxBackoff: durationFromMs(10), multiplier: 1, retryOn: RetryOn.ON_FAILURE },
      }),
    });
    const { runId } = await clientsFor(first.baseUrl).cron.triggerJob({ jobId: job!.jobId });
    await sink.waitFor((d) => d.path === path, 1, 10_000);
    await first.halt();

    const second = await startTestNode(kind, { reuse: first.data });
    try {
      const c = clientsFor(second.baseUrl);
      const run = await waitRun(c, runId);
      const overRest = (await rest(second.baseUrl, "GET", `/api/v1/cron/runs/${runId}`)).body;
      const deliveries = sink.deliveries.filter((d) => d.path === path);
      return { run, overRest: overRest.run ?? overRest, attempts: deliveries.map((d) => d.attempt), keys: new Set(deliveries.map((d) => d.runId)) };
    } finally {
      await second.stop();
    }
  };

  it("records the interrupted attempt, sends the next as attempt 2, and still gives max_attempts 1 its one real answer", async () => {
    const { run, overRest, attempts, keys } = await interruptThenRestart(`/interrupted/${kind}/once`, 1, 200);
    expect(attempts).toEqual([1, 2]);
    expect(keys).toEqual(new Set([run.runId]));
    expect(run.status).toBe(RunStatus.SUCCEEDED);
    expect(run.attempts.map((a) => [a.number, a.statusCode])).toEqual([
      [1, 0],
      [2, 200],
    ]);
    expect(run.attempts[0]!.error).toMatch(INTERRUPTED);
    expect(run.attempts[1]).toMatchObject({ error: "", responseExcerpt: "answer 2" });
    expect(overRest.status).toBe("succeeded");
    expect(overRest.attempts.map((a: { number: number; error: string }) => [a.number, INTERRUPTED.test(a.error)])).toEqual([
      [1, true],
      [2, false],
    ]);
  });

  it("does not count the interrupted attempt against the retry budget", async () => {
    const { run, attempts } = await interruptThenRestart(`/interrupted/${kind}/budget`, 2, 503);
    expect(attempts).toEqual([1, 2, 3]);
    expect(run.status).toBe(RunStatus.FAILED);
    expect(run.attempts.map((a) => [a.number, a.statusCode, INTERRUPTED.test(a.error)])).toEqual([
      [1, 0, true],
      [2, 503, false],
      [3, 503, false],
    ]);
    expect(run.error).toBe("HTTP 503");
  });
});
