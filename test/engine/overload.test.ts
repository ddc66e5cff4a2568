import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { afterEach, describe, expect, it } from "vitest";
import { ConcurrencyPolicy, JobSchema, MisfirePolicy, type Job } from "../../gen/cronmesh/v1/job_pb.js";
import { RunStatus, RunTrigger, type Run } from "../../gen/cronmesh/v1/run_pb.js";
import { nextFireTimes } from "../../src/domain/schedule.js";
import { clientsFor, type Clients } from "../harness/clients.js";
import { memoryLogger } from "../harness/memory-logger.js";
import { rest, startTestNode, type StoreKind } from "../harness/node.js";
import { scrape, valueOf } from "../harness/scrape.js";
import { startSink, type Sink } from "../harness/sink.js";
import { createFakeClock } from "../support/fake-clock.js";

/**
 * Overload on a fake clock, with a slow executor: a real loopback sink whose answers wait for a
 * gate the test opens. While the gate is shut, the node's two workers hold their requests, its
 * queue fills to its bound (MAX_QUEUED_RUNS), and the slots that come due after are held back
 * or shed by their jobs' misfire policy. The clock stands still while the test waits for real I/O,
 * so every decision is taken at a known instant.
 */

const T0 = Date.parse("2026-03-01T12:00:00.000Z");
const SECOND = 1000;
/** Fake milliseconds per step: the fire loop looks for room every 10 ms when held back. */
const STEP_MS = 20;
const BOUND = 4;

const ms = (ts: Timestamp | undefined) => (ts ? timestampMs(ts) : NaN);

/** A gate the sink's answers wait for. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** A node on a fake clock at T0 with a small pool and queue, its warnings captured, and a sink. */
async function overloadedNode(kind: StoreKind, env: Record<string, string> = {}) {
  const clock = createFakeClock(T0);
  const logs = memoryLogger("warn");
  const sink = await startSink();
  const t = await startTestNode(kind, {
    clock,
    log: logs.log,
    env: { WORKER_CONCURRENCY: "2", MAX_QUEUED_RUNS: String(BOUND), STATS_FLUSH_MS: "0", HISTORY_TRIM_MS: "3600000", ...env },
  });
  return { clock, logs, sink, t, c: clientsFor(t.baseUrl) };
}
type Harness = Awaited<ReturnType<typeof overloadedNode>>;

/**
 * Moves the fake clock by `msToPass` in steps, letting the node's I/O run between steps; `each`
 * sees the node after every step.
 */
async function pass(h: Harness, msToPass: number, each: () => void = () => undefined): Promise<void> {
  for (let done = 0; done < msToPass; done += STEP_MS) {
    h.clock.advance(STEP_MS);
    await h.t.node.fireLoop.settled();
    await new Promise((r) => setTimeout(r, 1));
    each();
  }
}

/** Waits (real time, the fake clock still) until `holds` does: claims and scans finish in real time. */
async function until(holds: () => boolean, what: string): Promise<void> {
  for (const deadline = Date.now() + 10_000; !holds(); await new Promise((r) => setTimeout(r, 5))) {
    if (Date.now() > deadline) throw new Error(`still not ${what} after 10 s`);
  }
}

/** Waits (real time, the fake clock still) until nothing waits or executes on the node. */
async function drained(h: Harness): Promise<void> {
  await Promise.race([h.t.node.worker.idle(), new Promise((_, reject) => setTimeout(() => reject(new Error("the node did not drain in 20 s")), 20_000))]);
}

async function createJob(c: Clients, sink: Sink, fields: Partial<Job> & { name: string }): Promise<Job> {
  const { job } = await c.cron.createJob({
    job: create(JobSchema, {
      concurrencyPolicy: ConcurrencyPolicy.ALLOW,
      ...fields,
      target: { url: `${sink.url}/${fields.name}`, timeout: durationFromMs(86_400_000) },
    }),
  });
  return job!;
}

async function runsOf(c: Clients, jobId: string): Promise<Run[]> {
  return (await c.runs.listRuns({ jobId, pageSize: 1000 })).runs.sort((a, b) => ms(a.scheduledAt) - ms(b.scheduledAt));
}

/** The slots of the job's schedule from its first one up to (excluding) its next trigger. */
function slotsDue(job: Job, schedule: string): number[] {
  const next = ms(job.nextTriggerAt);
  return nextFireTimes(schedule, "UTC", T0, 1000, next - 1);
}

/** [policy, what it does with a run that could not start by its deadline] */
const POLICIES: [string, MisfirePolicy][] = [
  ["skip: overdue runs end skipped (overload), nothing starts past its deadline", MisfirePolicy.SKIP],
  ["fire_once: an overdue run starts late only as its job's newest due slot", MisfirePolicy.FIRE_ONCE],
  ["catch_up: overdue slots inside the catch-up window all run, oldest first", MisfirePolicy.CATCH_UP],
];

describe.each<StoreKind>(["sqlite", "mongo"])("overload on %s (fake clock, slow target)", (kind) => {
  let h: Harness | undefined;
  afterEach(async () => {
    // The sink first: requests still held by a shut gate fail, so the node (whose grace period
    // runs on the fake clock) has nothing left to wait for.
    await h?.sink.close();
    await h?.t.stop();
    h = undefined;
  });

  it.each(POLICIES)("%s; the queue stays bounded, every slot is delivered or counted, overload shows and ends", async (_name, policy) => {
    h = await overloadedNode(kind);
    const { c, sink } = h;
    const shut = gate();
    sink.reply(() => ({ status: 200, until: shut.opened }));
    // Every second, and every 5 s with a 1 s start deadline (a run later than that is overdue before its next slot is due).
    const everySecond = await createJob(c, sink, { name: "every-second", schedule: "* * * * * *", misfirePolicy: policy });
    const everyFive = await createJob(c, sink, { name: "every-five", schedule: "*/5 * * * * *", misfirePolicy: policy, startDeadline: durationFromMs(SECOND) });

    let deepest = 0;
    await pass(h, 9_500, () => (deepest = Math.max(deepest, h!.t.node.worker.waiting())));
    // Overloaded: the queue at its bound, staging held back, and it shows.
    expect(deepest).toBeGreaterThanOrEqual(BOUND);
    expect(deepest).toBeLessThanOrEqual(BOUND + 2);
    const during = await scrape(h.t.baseUrl);
    expect(valueOf(during.get("cronmesh_overload"))).toBe(1);
    expect(valueOf(during.get("cronmesh_queue_bound"))).toBe(BOUND);
    expect(valueOf(during.get("cronmesh_queue_oldest_age_seconds"))).toBeGreaterThan(1);
    const status = await rest(h.t.baseUrl, "GET", "/api/v1/cron/cluster/status");
    expect(status.body).toMatchObject({ overloaded: true, load: { overloaded: true, queue_bound: BOUND } });
    expect(Number(status.body.load.queued_runs)).toBeGreaterThanOrEqual(BOUND);
    expect((await c.cron.getClusterStatus({})).members[0]).toMatchObject({ overloaded: true });
    expect(h.logs.lines().filter((l) => String(l.msg).startsWith("overload: the run queue is full"))).toHaveLength(1);
    // Shedding is the node working as designed: it stays healthy.
    expect((await rest(h.t.baseUrl, "GET", "/health")).status).toBe(200);

    // The target recovers: what is overdue is decided, the rest runs, then runs start on time again.
    sink.reply(() => ({ status: 200 }));
    shut.open();
    await drained(h);
    await pass(h, 20_500);
    await drained(h);

    const after = await scrape(h.t.baseUrl);
    expect(valueOf(after.get("cronmesh_overload"))).toBe(0);
    expect(h.logs.lines().filter((l) => l.msg === "overload ended: runs start on time again")).toHaveLength(1);
    expect((await c.cron.getClusterStatus({})).overloaded).toBe(false);
    const shed =
      valueOf(after.get("cronmesh_runs_shed_total"), { reason: "start_deadline" }) + valueOf(after.get("cronmesh_runs_shed_total"), { reason: "staging" });
    const late = valueOf(after.get("cronmesh_runs_started_late_total"));

    for (const [job, schedule, deadlineMs] of [
      [everySecond, "* * * * * *", SECOND],
      [everyFive, "*/5 * * * * *", SECOND],
    ] as const) {
      const { job: now } = await c.cron.getJob({ jobId: job.jobId });
      const due = slotsDue(now!, schedule);
      const runs = await runsOf(c, job.jobId);
      const succeeded = runs.filter((r) => r.status === RunStatus.SUCCEEDED);
      const delivered = sink.deliveries.filter((d) => d.jobId === job.jobId).map((d) => d.scheduledAt);
      // Every slot accounted for: delivered once, or counted as skipped; nothing left waiting.
      expect(runs.filter((r) => r.status === RunStatus.QUEUED || r.status === RunStatus.RUNNING)).toEqual([]);
      expect(new Set(delivered).size).toBe(delivered.length);
      expect(delivered.length).toBe(succeeded.length);
      expect(succeeded.length + Number(now!.skippedCount) + Number(now!.droppedCount)).toBe(due.length);
      expect(now!.skippedCount).toBe(BigInt(runs.filter((r) => r.status === RunStatus.SKIPPED).length) + BigInt(due.length - runs.length));
      for (const r of runs.filter((r) => r.status === RunStatus.SKIPPED))
        expect(r.result).toMatch(/^skipped: overload: not started within its start deadline of 1s/);
      // Recovered: the slots after the gate opened (plus a second to decide what was overdue) ran on time.
      const recovered = succeeded.filter((r) => ms(r.scheduledAt) >= T0 + 11 * SECOND);
      expect(recovered.length).toBeGreaterThanOrEqual(schedule === "* * * * * *" ? 19 : 4);
      for (const r of recovered) expect(ms(r.startedAt) - ms(r.dueAt)).toBeLessThanOrEqual(100);
      const lateRuns = succeeded.filter((r) => ms(r.startedAt) - ms(r.dueAt) > deadlineMs);
      if (policy === MisfirePolicy.SKIP) expect(lateRuns).toEqual([]);
      if (policy === MisfirePolicy.FIRE_ONCE) {
        // A late start is the newest due slot of its job: its next slot was not due yet.
        for (const r of lateRuns) expect(nextFireTimes(schedule, "UTC", ms(r.scheduledAt), 1)[0]!).toBeGreaterThan(ms(r.startedAt));
      }
      if (policy === MisfirePolicy.CATCH_UP) {
        expect(Number(now!.skippedCount)).toBe(0);
        const starts = succeeded.map((r) => ms(r.startedAt));
        expect(starts).toEqual([...starts].sort((a, b) => a - b));
      }
    }
    if (policy === MisfirePolicy.CATCH_UP) expect(late).toBeGreaterThan(0);
    else expect(shed).toBeGreaterThan(0);
    // The every-five job's slot at 5 s waited behind the shut gate past its deadline, its next slot not due yet.
    if (policy === MisfirePolicy.FIRE_ONCE) expect(late).toBeGreaterThan(0);
  });

  it("a manual trigger not started within MANUAL_START_DEADLINE (default 1 minute) ends skipped; one within it runs", async () => {
    h = await overloadedNode(kind, { WORKER_CONCURRENCY: "1" });
    const { c, sink } = h;
    const shut = gate();
    sink.reply(() => ({ status: 200, until: shut.opened }));
    // A one-shot run holds the only worker behind the shut gate.
    await createJob(c, sink, { name: "blocker", runAt: { seconds: BigInt((T0 + SECOND) / 1000), nanos: 0 } });
    const manual = await createJob(c, sink, { name: "manual", schedule: "0 0 1 1 *" });
    await pass(h, 2 * SECOND);
    const { runId: stale } = await c.cron.triggerJob({ jobId: manual.jobId });
    await pass(h, 60 * SECOND);
    const { runId: fresh } = await c.cron.triggerJob({ jobId: manual.jobId });
    await pass(h, 1 * SECOND);
    sink.reply(() => ({ status: 200 }));
    shut.open();
    await drained(h);
    const runs = await runsOf(c, manual.jobId);
    const staleRun = runs.find((r) => r.runId === stale)!;
    expect(staleRun).toMatchObject({
      status: RunStatus.SKIPPED,
      trigger: RunTrigger.MANUAL,
      result: "skipped: overload: not started within its start deadline of 1m",
    });
    expect(staleRun.attempts).toEqual([]);
    expect(runs.find((r) => r.runId === fresh)).toMatchObject({ status: RunStatus.SUCCEEDED });
    expect(sink.deliveries.filter((d) => d.jobId === manual.jobId).map((d) => d.runId)).toEqual([fresh]);
    expect((await c.cron.getJob({ jobId: manual.jobId })).job!.skippedCount).toBe(1n);
    expect(valueOf((await scrape(h.t.baseUrl)).get("cronmesh_runs_shed_total"), { reason: "start_deadline" })).toBe(1);
  });

  it("fairness: a job fanning out (a backfill filling the queue) does not starve another job's slots", async () => {
    h = await overloadedNode(kind, { WORKER_CONCURRENCY: "1", CLAIM_SCAN_MS: "500" });
    const { c, sink } = h;
    const shut = gate();
    sink.reply(() => ({ status: 200, until: shut.opened }));
    const fan = await createJob(c, sink, { name: "fan", schedule: "* * * * *" });
    const steady = await createJob(c, sink, { name: "steady", schedule: "* * * * * *", misfirePolicy: MisfirePolicy.SKIP });
    await pass(h, 100);
    // Forty runs of one job at once: the node takes what its queue holds, the rest stay for its scans.
    await c.cron.backfillJob({
      jobId: fan.jobId,
      startTime: { seconds: BigInt((T0 - 40 * 60_000) / 1000), nanos: 0 },
      endTime: { seconds: BigInt(T0 / 1000), nanos: 0 },
    });
    const worker = h.t.node.worker;
    await until(() => worker.waiting() === BOUND - 1, "three backfill runs waiting behind the one in flight");
    // One more run of the same job fills the queue.
    await c.cron.triggerJob({ jobId: fan.jobId });
    await until(() => worker.waiting() === BOUND, "the queue full");
    expect(worker.hasJob(steady.jobId)).toBe(false);
    // The queue is full of the fanning-out job: the steady job's slot still gets in, as a job with nothing queued.
    await pass(h, 1_100);
    await until(() => worker.hasJob(steady.jobId), "the steady job's run queued");
    expect(worker.waiting()).toBe(BOUND + 1);
    sink.reply(() => ({ status: 200 }));
    shut.open();
    // The queue takes runs round-robin by job: the steady job's run waits for one run of the
    // backfill at most (the one its line took before the steady run was queued), not for the rest.
    await sink.waitFor(() => true, 3, 5000);
    expect(sink.deliveries.slice(0, 3).map((d) => d.jobId)).toEqual([fan.jobId, fan.jobId, steady.jobId]);
    await drained(h);
    // Scans pick up the backfill's runs beyond the queue's bound. A scan is scheduled once the
    // previous one has finished in real time, so on a slow machine 8 s of fake time can hold
    // fewer scans than the backfill needs: time passes on (bounded) until all forty are done.
    const backfillDone = async () => (await runsOf(c, fan.jobId)).filter((r) => r.trigger === RunTrigger.BACKFILL && r.status === RunStatus.SUCCEEDED).length;
    await pass(h, 8_000);
    for (let waited = 0; waited < 60_000 && (await backfillDone()) < 40; waited += 1_000) {
      await drained(h);
      await pass(h, 1_000);
    }
    await drained(h);
    // Every slot of the steady job ran within its deadline while the backfill went on.
    const steadyRuns = await runsOf(c, steady.jobId);
    expect(steadyRuns.length).toBeGreaterThanOrEqual(9);
    for (const r of steadyRuns) {
      expect(r.status).toBe(RunStatus.SUCCEEDED);
      expect(ms(r.startedAt) - ms(r.dueAt)).toBeLessThanOrEqual(SECOND);
    }
    // The backfill is not lost: its runs beyond the queue's bound came in with the scans.
    expect(await backfillDone()).toBe(40);
  });
});
