import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ConcurrencyPolicy, JobSchema, JobStatus, RetryOn, type Job } from "../../gen/cronmesh/v1/job_pb.js";
import { RunStatus, RunTrigger } from "../../gen/cronmesh/v1/run_pb.js";
import { clientsFor, codeOf, waitRun, type Clients } from "../harness/clients.js";
import { rest, startTestNode, type StoreKind, type TestNode } from "../harness/node.js";
import { startSink, type Sink } from "../harness/sink.js";

describe.each<StoreKind>(["sqlite", "mongo"])("scheduling engine on %s", (kind) => {
  let sink: Sink;
  let t: TestNode;
  let c: Clients;
  let seq = 0;

  beforeAll(async () => {
    sink = await startSink();
    t = await startTestNode(kind, {
      env: { HANDLER_REMINDER_URL: `${sink.url}/handler/reminder`, CRONMESH_SECRET_SINK_TOKEN: "s3cr3t" },
    });
    c = clientsFor(t.baseUrl);
  });
  afterAll(async () => {
    await t?.stop();
    await sink?.close();
  });

  /** A job calling the sink at a path of its own. */
  const job = (overrides: Partial<Job> = {}): Job => {
    const path = `/job/${++seq}`;
    return create(JobSchema, {
      name: `e2e ${seq}`,
      schedule: "0 0 1 1 *",
      target: { url: `${sink.url}${path}`, timeout: durationFromMs(5000) },
      ...overrides,
    });
  };
  const pathOf = (j: Job) => new URL(j.target!.url).pathname;
  /** A job's lock_acquired as GetJob and both kinds of ListJobs pages show it, over Connect and REST. */
  const lockShown = async (jobId: string, name: string) => {
    const text = encodeURIComponent(name);
    const [got, offset, cursor, restGot, restListed] = await Promise.all([
      c.cron.getJob({ jobId }),
      c.cron.listJobs({ text: name, limit: 50 }),
      c.cron.listJobs({ text: name, pageSize: 50 }),
      rest(t.baseUrl, "GET", `/api/v1/cron/jobs/${jobId}`),
      rest(t.baseUrl, "GET", `/api/v1/cron/jobs?text=${text}&limit=50`),
    ]);
    const listedLock = (jobs: { jobId: string; lockAcquired: boolean }[]) => jobs.find((j) => j.jobId === jobId)?.lockAcquired;
    return {
      get: got.job!.lockAcquired,
      listed: listedLock(offset.data),
      cursor: listedLock(cursor.data),
      rest: restGot.body.lock_acquired,
      restListed: (restListed.body.data as { job_id: string; lock_acquired: boolean }[]).find((j) => j.job_id === jobId)?.lock_acquired,
    };
  };
  const atPath = (p: string) => (d: { path: string }) => d.path === p;

  it("fires an every-second job once per slot, in order, with the run's identity headers", async () => {
    const spec = job({ schedule: "* * * * * *" });
    const { job: created } = await c.cron.createJob({ job: spec });
    const got = await sink.waitFor(atPath(pathOf(spec)), 3, 10_000);
    await c.cron.pauseJob({ jobId: created!.jobId });
    const slots = got.map((d) => Date.parse(d.scheduledAt));
    expect(new Set(slots).size).toBe(slots.length);
    for (let i = 1; i < slots.length; i++) expect(slots[i]! - slots[i - 1]!).toBe(1000);
    // Staged ahead, but never sent before the slot.
    for (const d of got) expect(d.receivedAt).toBeGreaterThanOrEqual(Date.parse(d.scheduledAt));
    expect(got[0]).toMatchObject({ jobId: created!.jobId, attempt: 1 });
    expect(got[0]!.runId).toMatch(/^run_/);
    const { runs } = await c.runs.listRuns({ jobId: created!.jobId });
    const scheduled = runs.filter((r) => r.trigger === RunTrigger.SCHEDULE);
    expect(scheduled.length).toBeGreaterThanOrEqual(3);
    const { job: after } = await c.cron.getJob({ jobId: created!.jobId });
    expect(after!.lastTriggeredAt).toBeDefined();
  });

  it("retries with backoff, dead-letters the run, then redrives it", async () => {
    const spec = job({
      retry: { maxAttempts: 3, initialBackoff: durationFromMs(50), maxBackoff: durationFromMs(200), multiplier: 2, retryOn: RetryOn.ON_FAILURE },
    });
    const path = pathOf(spec);
    let healthy = false;
    sink.reply((d) => (d.path === path && !healthy ? { status: 503, body: "busy" } : { status: 200, body: "ok" }));
    const { job: created } = await c.cron.createJob({ job: spec });
    const { runId } = await c.cron.triggerJob({ jobId: created!.jobId });
    const dead = await waitRun(c, runId);
    expect(dead.status).toBe(RunStatus.FAILED);
    expect(dead.deadLetteredAt).toBeDefined();
    expect(dead.attempts.map((a) => [a.number, a.statusCode, a.responseExcerpt])).toEqual([
      [1, 503, "busy"],
      [2, 503, "busy"],
      [3, 503, "busy"],
    ]);
    const { runs: dlq } = await c.runs.listDeadLetters({ jobId: created!.jobId });
    expect(dlq.map((r) => r.runId)).toEqual([runId]);
    healthy = true;
    const redriven = await c.runs.redriveRun({ runId });
    expect(redriven.run).toMatchObject({ redriveOf: runId, trigger: RunTrigger.REDRIVE });
    expect((await waitRun(c, redriven.run!.runId)).status).toBe(RunStatus.SUCCEEDED);
    expect(await codeOf(c.runs.redriveRun({ runId: redriven.run!.runId }))).toBe(Code.FailedPrecondition);
    // Counters are flushed in batches (every second on MongoDB), so they are eventually exact.
    await vi.waitFor(
      async () => {
        const { job: counted } = await c.cron.getJob({ jobId: created!.jobId });
        expect(counted).toMatchObject({ runCount: 2n, failCount: 1n });
      },
      { timeout: 5000, interval: 100 },
    );
    sink.reply(() => ({ status: 200, body: "ok" }));
  });

  it("does not retry a 4xx under on_failure but does under always", async () => {
    const onFailure = job({ retry: { maxAttempts: 3, initialBackoff: durationFromMs(10), retryOn: RetryOn.ON_FAILURE } });
    const always = job({ retry: { maxAttempts: 2, initialBackoff: durationFromMs(10), retryOn: RetryOn.ALWAYS } });
    sink.reply((d) => (d.path === pathOf(onFailure) || d.path === pathOf(always) ? { status: 404 } : { status: 200 }));
    const a = await c.cron.createJob({ job: onFailure });
    const b = await c.cron.createJob({ job: always });
    const ra = await waitRun(c, (await c.cron.triggerJob({ jobId: a.job!.jobId })).runId);
    const rb = await waitRun(c, (await c.cron.triggerJob({ jobId: b.job!.jobId })).runId);
    expect(ra.attempts).toHaveLength(1);
    expect(rb.attempts).toHaveLength(2);
    sink.reply(() => ({ status: 200 }));
  });

  it("forbid skips a trigger while a run is running; allow overlaps; replace aborts the running run", async () => {
    const slow = (policy: ConcurrencyPolicy) => job({ concurrencyPolicy: policy });
    const specs = [slow(ConcurrencyPolicy.FORBID), slow(ConcurrencyPolicy.ALLOW), slow(ConcurrencyPolicy.REPLACE)];
    const paths = specs.map(pathOf);
    sink.reply((d) => (paths.includes(d.path) ? { status: 200, delayMs: 1500 } : { status: 200 }));
    const [forbid, allow, replace] = await Promise.all(specs.map(async (s) => (await c.cron.createJob({ job: s })).job!.jobId));
    const firsts = await Promise.all([forbid, allow, replace].map((jobId) => c.cron.triggerJob({ jobId: jobId! })));
    await Promise.all(firsts.map((f) => waitRun(c, f.runId, 5000, (r) => r.status === RunStatus.RUNNING)));
    const seconds = await Promise.all([forbid, allow, replace].map((jobId) => c.cron.triggerJob({ jobId: jobId! })));
    expect(seconds.map((s) => s.lockAcquired)).toEqual([false, true, true]);
    expect(seconds[0]!.run!.status).toBe(RunStatus.SKIPPED);
    const [f1, a1, r1, a2, r2] = await Promise.all([firsts[0]!, firsts[1]!, firsts[2]!, seconds[1]!, seconds[2]!].map((x) => waitRun(c, x.runId)));
    expect([f1!.status, a1!.status, a2!.status]).toEqual([RunStatus.SUCCEEDED, RunStatus.SUCCEEDED, RunStatus.SUCCEEDED]);
    expect(r1!.status).toBe(RunStatus.CANCELLED);
    expect(r1!.attempts[0]!.error).toMatch(/cancel/);
    expect(r2!.status).toBe(RunStatus.SUCCEEDED);
    sink.reply(() => ({ status: 200 }));
  });

  it("cancels a running run and aborts its request", async () => {
    const spec = job();
    sink.reply((d) => (d.path === pathOf(spec) ? { status: 200, delayMs: 3000 } : { status: 200 }));
    const { job: created } = await c.cron.createJob({ job: spec });
    const jobId = created!.jobId;
    const { runId } = await c.cron.triggerJob({ jobId });
    await waitRun(c, runId, 5000, (r) => r.status === RunStatus.RUNNING && r.attempts.length === 0);
    expect(await lockShown(jobId, spec.name)).toEqual({ get: true, listed: true, cursor: true, rest: true, restListed: true });
    const { run } = await c.runs.cancelRun({ runId, reason: "operator said so" });
    expect(run).toMatchObject({ status: RunStatus.CANCELLED, error: "operator said so" });
    expect(await codeOf(c.runs.cancelRun({ runId }))).toBe(Code.FailedPrecondition);
    await expect
      .poll(() => lockShown(jobId, spec.name), { timeout: 3000 })
      .toEqual({ get: false, listed: false, cursor: false, rest: false, restListed: false });
    sink.reply(() => ({ status: 200 }));
  });

  it("gives up an attempt at the target's timeout and records it as timed out", async () => {
    const spec = job();
    spec.target!.timeout = durationFromMs(200);
    sink.reply((d) => (d.path === pathOf(spec) ? { status: 200, delayMs: 1500 } : { status: 200 }));
    const { job: created } = await c.cron.createJob({ job: spec });
    const run = await waitRun(c, (await c.cron.triggerJob({ jobId: created!.jobId })).runId);
    expect(run.status).toBe(RunStatus.FAILED);
    expect(run.attempts[0]).toMatchObject({ statusCode: 0, error: "timed out" });
    expect(Number(run.attempts[0]!.durationMs)).toBeLessThan(1500);
    sink.reply(() => ({ status: 200 }));
  });

  it("completes a one-shot job after its run", async () => {
    const spec = job({ schedule: "", runAt: timestampFromMs(Date.now() + 700) });
    const { job: created } = await c.cron.createJob({ job: spec });
    await sink.waitFor(atPath(pathOf(spec)), 1, 10_000);
    const deadline = Date.now() + 5000;
    let status = JobStatus.ACTIVE;
    while (status !== JobStatus.COMPLETED && Date.now() < deadline) {
      status = (await c.cron.getJob({ jobId: created!.jobId })).job!.status;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe(JobStatus.COMPLETED);
    expect((await c.cron.getJob({ jobId: created!.jobId })).job!.nextTriggerAt).toBeUndefined();
  });

  it("keeps jittered due times inside [slot, slot + max_jitter), the same on every read", async () => {
    const spec = job({ schedule: "*/2 * * * * *", maxJitter: durationFromMs(700) });
    const { job: created } = await c.cron.createJob({ job: spec });
    await sink.waitFor(atPath(pathOf(spec)), 3, 12_000);
    await c.cron.pauseJob({ jobId: created!.jobId });
    const { runs } = await c.runs.listRuns({ jobId: created!.jobId });
    for (const r of runs.filter((x) => x.trigger === RunTrigger.SCHEDULE)) {
      const offset = timestampDate(r.dueAt!).getTime() - timestampDate(r.scheduledAt!).getTime();
      expect(offset).toBeGreaterThanOrEqual(0);
      expect(offset).toBeLessThan(700);
    }
  });

  it("runs a DAG in dependency order, skipping the dependants of a failed task", async () => {
    const dag = `/dag/${++seq}`;
    const base = `${sink.url}${dag}`;
    const task = (taskId: string, dependsOn: string[] = []) => ({ taskId, dependsOn, target: { url: `${base}/${taskId}` } });
    sink.reply((d) => (d.path === `${dag}/transform` ? { status: 500, body: "boom" } : { status: 200 }));
    const spec = job({ tasks: [task("extract"), task("transform", ["extract"]), task("load", ["transform"]), task("audit")], target: undefined });
    const { job: created } = await c.cron.createJob({ job: spec });
    const run = await waitRun(c, (await c.cron.triggerJob({ jobId: created!.jobId })).runId);
    const byTask = Object.fromEntries(run.taskResults.map((r) => [r.taskId, r.status]));
    expect(byTask).toEqual({ extract: RunStatus.SUCCEEDED, audit: RunStatus.SUCCEEDED, transform: RunStatus.FAILED, load: RunStatus.SKIPPED });
    expect(run.status).toBe(RunStatus.FAILED);
    expect(run.taskResults.find((r) => r.taskId === "transform")!.attempts[0]).toMatchObject({ statusCode: 500, responseExcerpt: "boom" });
    const order = sink.deliveries.filter((d) => d.path.startsWith(`${dag}/`)).map((d) => d.path.split("/").pop());
    expect(order.indexOf("extract")).toBeLessThan(order.indexOf("transform"));
    expect(order).not.toContain("load");
    sink.reply(() => ({ status: 200 }));
  });

  it("replays a run with the same slot, linked by replay_of", async () => {
    const spec = job();
    const { job: created } = await c.cron.createJob({ job: spec });
    const first = await waitRun(c, (await c.cron.triggerJob({ jobId: created!.jobId })).runId);
    const { run: replay } = await c.runs.replayRun({ runId: first.runId });
    expect(replay).toMatchObject({ replayOf: first.runId, trigger: RunTrigger.REPLAY, scheduledAt: first.scheduledAt });
    await waitRun(c, replay!.runId);
    const got = sink.deliveries.filter(atPath(pathOf(spec)));
    expect(got.map((d) => d.runId)).toEqual([first.runId, replay!.runId]);
    expect(got[0]!.scheduledAt).toBe(got[1]!.scheduledAt);
  });

  it("rolls back to an earlier target and calls it", async () => {
    const spec = job();
    const { job: v1 } = await c.cron.createJob({ job: spec });
    const v2Target = { ...v1!.target!, url: `${sink.url}/rolled/v2` };
    await c.cron.updateJob({ job: { ...v1!, target: v2Target }, updateMask: { paths: ["target"] } });
    await c.cron.rollbackJob({ jobId: v1!.jobId, version: 1n });
    const run = await waitRun(c, (await c.cron.triggerJob({ jobId: v1!.jobId })).runId);
    expect(run.jobVersion).toBe(3n);
    expect(sink.deliveries.filter((d) => d.runId === run.runId).map((d) => d.path)).toEqual([pathOf(spec)]);
  });

  it("resolves named handlers and secret references, and fails clearly on an unknown handler", async () => {
    const named = await c.cron.createJob({ job: job({ target: undefined, handler: "reminder" }) });
    await waitRun(c, (await c.cron.triggerJob({ jobId: named.job!.jobId })).runId);
    expect(sink.deliveries.some((d) => d.path === "/handler/reminder" && d.jobId === named.job!.jobId)).toBe(true);
    const unknown = await c.cron.createJob({ job: job({ target: undefined, handler: "nobody" }) });
    const failed = await waitRun(c, (await c.cron.triggerJob({ jobId: unknown.job!.jobId })).runId);
    expect(failed).toMatchObject({ status: RunStatus.FAILED, error: 'handler "nobody" not configured' });
    const secretJob = job();
    secretJob.target!.auth = {
      $typeName: "cronmesh.v1.Auth",
      kind: { case: "bearer", value: { $typeName: "cronmesh.v1.BearerAuth", token: "secret://sink-token" } },
    };
    const withSecret = await c.cron.createJob({ job: secretJob });
    const r = await waitRun(c, (await c.cron.triggerJob({ jobId: withSecret.job!.jobId })).runId);
    expect(sink.deliveries.find((d) => d.runId === r.runId)?.headers.authorization).toBe("Bearer s3cr3t");
  });

  it("backfills every slot of a range once, even when asked twice", async () => {
    const spec = job({ schedule: "0 * * * *" });
    const { job: created } = await c.cron.createJob({ job: spec });
    const start = timestampFromMs(Date.parse("2026-01-01T00:00:00Z"));
    const end = timestampFromMs(Date.parse("2026-01-01T03:00:00Z"));
    const first = await c.cron.backfillJob({ jobId: created!.jobId, startTime: start, endTime: end });
    expect(first.slots).toBe(3);
    const again = await c.cron.backfillJob({ jobId: created!.jobId, startTime: start, endTime: end });
    expect(again.runIds).toEqual(first.runIds);
    await Promise.all(first.runIds.map((id) => waitRun(c, id)));
    const slots = sink.deliveries
      .filter(atPath(pathOf(spec)))
      .map((d) => d.scheduledAt)
      .sort();
    expect(slots).toEqual(["2026-01-01T00:00:00.000Z", "2026-01-01T01:00:00.000Z", "2026-01-01T02:00:00.000Z"]);
  });

  it("streams run state changes to watchers filtered by job", async () => {
    const spec = job();
    const { job: created } = await c.cron.createJob({ job: spec });
    const controller = new AbortController();
    const seen: RunStatus[] = [];
    const stream = c.runs.watchRuns({ jobId: created!.jobId }, { signal: controller.signal });
    const reading = (async () => {
      for await (const msg of stream) {
        seen.push(msg.run!.status);
        if (msg.run!.status === RunStatus.SUCCEEDED) break;
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    await c.cron.triggerJob({ jobId: created!.jobId });
    await reading;
    controller.abort();
    expect(seen[0]).toBe(RunStatus.QUEUED);
    expect(seen).toContain(RunStatus.RUNNING);
    expect(seen[seen.length - 1]).toBe(RunStatus.SUCCEEDED);
  });

  it("streams run changes over REST as newline-delimited JSON", async () => {
    const spec = job();
    const { job: created } = await c.cron.createJob({ job: spec });
    const controller = new AbortController();
    const res = await fetch(`${t.baseUrl}/api/v1/cron/watch/runs?job_id=${created!.jobId}`, { signal: controller.signal });
    expect(res.headers.get("content-type")).toMatch(/ndjson/);
    const reader = res.body!.getReader();
    await c.cron.triggerJob({ jobId: created!.jobId });
    let text = "";
    while (!text.includes('"status":"succeeded"')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    const statuses = text
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line).run.status);
    expect(statuses[0]).toBe("queued");
    expect(statuses[statuses.length - 1]).toBe("succeeded");
  });
});
