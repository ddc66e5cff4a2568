import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiDriver, errorOf, sleep, until, type ApiDriver, type Obj, type Protocol } from "../harness/api-driver.js";
import { startTestNode, type StoreKind, type TestNode } from "../harness/node.js";
import { startSink, type Delivery, type Sink } from "../harness/sink.js";

/**
 * Issue 23's data-loss and wrong-firing defects, each driven as a user would: over REST and
 * Connect, on both stores, against a recording sink.
 */
describe.each<StoreKind>(["sqlite", "mongo"])("correctness on %s", (kind) => {
  let sink: Sink;
  let t: TestNode;
  let seq = 0;

  beforeAll(async () => {
    sink = await startSink();
    t = await startTestNode(kind, { env: { HISTORY_TRIM_MS: "200" } });
  });
  afterAll(async () => {
    await t?.stop();
    await sink?.close();
  });

  describe.each<Protocol>(["rest", "connect"])("over %s", (protocol) => {
    let api: ApiDriver;
    beforeAll(() => {
      api = apiDriver(protocol, t.baseUrl);
    });

    /** A path of the sink of its own, answering as `reply` says. */
    const path = (reply?: (d: Delivery) => { status: number; delayMs?: number } | undefined) => {
      const p = `/c/${kind}/${protocol}/${++seq}`;
      if (reply) {
        const previous = currentRule;
        currentRule = (d) => (d.path === p ? reply(d) : undefined) ?? previous(d);
        sink.reply((d) => ({ body: "x", ...currentRule(d) }));
      }
      return p;
    };
    const job = (p: string, extra: Obj = {}): Obj => ({
      name: `c${seq}`,
      schedule: "0 0 1 1 *",
      target: { url: `${sink.url}${p}`, timeout: "10s" },
      ...extra,
    });
    const at = (p: string) => sink.deliveries.filter((d) => d.path === p);
    const final = (runId: string) =>
      until(
        () => api.getRun(runId),
        (r) => !["queued", "running"].includes(r.status),
      );

    it("1: history trims never delete dead letters", async () => {
      let healthy = false;
      const p = path(() => (healthy ? { status: 200 } : { status: 503 }));
      const created = await api.createJob(
        job(p, {
          concurrency_policy: "CONCURRENCY_POLICY_ALLOW",
          history_limit: 2,
          retry: { max_attempts: 2, initial_backoff: "0.02s", retry_on: "RETRY_ON_ON_FAILURE" },
        }),
      );
      for (let i = 0; i < 5; i++) expect((await final((await api.triggerJob(created.job_id)).run_id)).status).toBe("failed");
      healthy = true;
      for (let i = 0; i < 3; i++) expect((await final((await api.triggerJob(created.job_id)).run_id)).status).toBe("succeeded");
      // The trim runs every 200 ms: 2 plain runs are kept besides the 5 dead letters.
      const runs = await until(
        () => api.listRuns(created.job_id),
        (r) => r.length <= 7,
      );
      expect(runs).toHaveLength(7);
      const dead = await api.listDeadLetters(created.job_id);
      expect(dead).toHaveLength(5);
      for (const d of dead) expect(d).toMatchObject({ status: "failed", dead_lettered_at: expect.any(Number) });
    });

    it("2: DeleteJob stops a run waiting for its next retry, keeps every attempt it sent, and never dead-letters it", async () => {
      const p = path(() => ({ status: 503 }));
      const created = await api.createJob(job(p, { retry: { max_attempts: 20, initial_backoff: "0.3s", multiplier: 1, retry_on: "RETRY_ON_ON_FAILURE" } }));
      const { run_id } = await api.triggerJob(created.job_id);
      // Past the 500 ms checkpoint: the run reads running in the store.
      await until(
        async () => at(p).length,
        (n) => n >= 3,
      );
      await api.deleteJob(created.job_id);
      const sent = at(p).length;
      const run = await final(run_id);
      expect(run).toMatchObject({ status: "cancelled", error: "job deleted" });
      expect(run.dead_lettered_at ?? null).toBeNull();
      expect(run.attempts).toHaveLength(sent);
      await sleep(900);
      expect(at(p)).toHaveLength(sent);
    });

    it("2: a delete in the first 500 ms aborts the request in flight and records it as an attempt", async () => {
      const p = path(() => ({ status: 200, delayMs: 3000 }));
      const created = await api.createJob(job(p));
      const { run_id } = await api.triggerJob(created.job_id);
      await until(
        async () => at(p).length,
        (n) => n === 1,
      );
      const deleted = await api.deleteJob(created.job_id);
      expect(deleted.cancelled_runs).toBe(1);
      const run = await api.getRun(run_id);
      expect(run.status).toBe("cancelled");
      expect(run.attempts).toHaveLength(1);
      expect(run.attempts[0].error).toMatch(/cancel|abort/i);
    });

    it("6: a redrive takes the dead letter out of the queue, once", async () => {
      let healthy = false;
      const p = path(() => ({ status: healthy ? 200 : 500 }));
      const created = await api.createJob(job(p));
      const failed = await final((await api.triggerJob(created.job_id)).run_id);
      expect(failed.status).toBe("failed");
      expect((await api.listDeadLetters(created.job_id)).map((r) => r.run_id)).toEqual([failed.run_id]);
      healthy = true;
      const { run } = await api.redrive(failed.run_id);
      expect(run).toMatchObject({ redrive_of: failed.run_id, trigger: "redrive" });
      expect((await final(run.run_id)).status).toBe("succeeded");
      expect(await api.listDeadLetters(created.job_id)).toEqual([]);
      const all = await api.listDeadLetters(created.job_id, true);
      expect(all.map((r) => [r.run_id, r.redriven_by_run_id])).toEqual([[failed.run_id, run.run_id]]);
      expect(all[0]!.redriven_at).toEqual(expect.any(Number));
      const again = await errorOf(api.redrive(failed.run_id));
      expect(again.code).toBe("failed_precondition");
      expect(again.message).toContain(run.run_id);
      expect(at(p)).toHaveLength(2);
    });

    it("7: a one-shot outside its window is refused; a recurring job past its end_at is completed", async () => {
      const now = Date.now();
      const outside = await errorOf(
        api.createJob(
          job(path(), {
            schedule: "",
            run_at: new Date(now + 60_000).toISOString(),
            start_at: new Date(now + 120_000).toISOString(),
          }),
        ),
      );
      expect([outside.code, outside.field]).toEqual(["invalid_argument", "run_at"]);
      const late = await errorOf(
        api.createJob(job(path(), { schedule: "", run_at: new Date(now + 60_000).toISOString(), end_at: new Date(now + 30_000).toISOString() })),
      );
      expect([late.code, late.field]).toEqual(["invalid_argument", "run_at"]);
      const ended = await api.createJob(job(path(), { schedule: "* * * * *", end_at: new Date(now - 60_000).toISOString() }));
      expect(ended).toMatchObject({ status: "completed" });
      expect(ended.next_trigger_at ?? null).toBeNull();
      const live = await api.createJob(job(path(), { schedule: "* * * * *" }));
      expect(live.status).toBe("active");
      const endedLater = await api.patchJob(live.job_id, { end_at: new Date(now - 1000).toISOString() });
      expect(endedLater).toMatchObject({ status: "completed" });
      expect(endedLater.next_trigger_at ?? null).toBeNull();
    });

    it("9: a completed job comes back only with new timing; a cancelled one never changes", async () => {
      const p = path(() => ({ status: 200 }));
      const oneShot = await api.createJob(job(p, { schedule: "", run_at: new Date(Date.now() + 200).toISOString() }));
      // Completed as soon as its slot is staged: wait for the slot itself to be delivered.
      await until(
        async () => at(p).length,
        (n) => n === 1,
      );
      await until(
        () => api.getJob(oneShot.job_id),
        (j) => j.status === "completed",
      );
      const refused = await errorOf(api.patchJob(oneShot.job_id, { enabled: true }));
      expect(refused.code).toBe("failed_precondition");
      expect((await errorOf(api.resumeJob(oneShot.job_id))).code).toBe("failed_precondition");
      const again = Date.now() + 500;
      const revived = await api.patchJob(oneShot.job_id, { run_at: new Date(again).toISOString() });
      expect(revived).toMatchObject({ status: "active", next_trigger_at: again });
      await until(
        async () => at(p).length,
        (n) => n === 2,
      );
      expect(Date.parse(at(p)[1]!.scheduledAt)).toBe(again);
      await until(
        () => api.getJob(oneShot.job_id),
        (j) => j.status === "completed" && (j.next_trigger_at ?? null) === null,
      );

      const recurring = await api.createJob(job(path(), { schedule: "* * * * *" }));
      const cancelled = await api.patchJob(recurring.job_id, { status: "JOB_STATUS_CANCELLED" });
      expect(cancelled.status).toBe("cancelled");
      expect(cancelled.next_trigger_at ?? null).toBeNull();
      expect((await errorOf(api.patchJob(recurring.job_id, { description: "x" }))).code).toBe("failed_precondition");
      expect((await errorOf(api.resumeJob(recurring.job_id))).code).toBe("failed_precondition");
    });

    it("11: pausing a job stops a run waiting for its next retry: cancelled, job paused", async () => {
      const p = path(() => ({ status: 503 }));
      const created = await api.createJob(job(p, { retry: { max_attempts: 20, initial_backoff: "0.4s", multiplier: 1, retry_on: "RETRY_ON_ON_FAILURE" } }));
      const { run_id } = await api.triggerJob(created.job_id);
      await until(
        async () => at(p).length,
        (n) => n >= 1,
      );
      await sleep(50); // in its back-off now
      await api.pauseJob(created.job_id, "maintenance");
      const run = await final(run_id);
      expect(run).toMatchObject({ status: "cancelled", error: "job paused" });
      const sent = at(p).length;
      await sleep(1000);
      expect(at(p)).toHaveLength(sent);
      expect(run.attempts).toHaveLength(sent);
    });

    it("12: a redrive runs the job as fixed since, or the failed run's own version on request", async () => {
      const broken = path(() => ({ status: 500 }));
      const fixed = path(() => ({ status: 200 }));
      const created = await api.createJob(job(broken, { concurrency_policy: "CONCURRENCY_POLICY_ALLOW" }));
      const first = await final((await api.triggerJob(created.job_id)).run_id);
      const second = await final((await api.triggerJob(created.job_id)).run_id);
      await api.patchJob(created.job_id, { target: { url: `${sink.url}${fixed}` } });
      const current = await api.redrive(first.run_id);
      expect(current.run.job_version).toBe(2);
      expect((await final(current.run.run_id)).status).toBe("succeeded");
      expect(at(fixed)).toHaveLength(1);
      const original = await api.redrive(second.run_id, "original");
      expect(original.run.job_version).toBe(1);
      expect((await final(original.run.run_id)).status).toBe("failed");
      expect(at(broken)).toHaveLength(3);
    });

    it("14: runs and dead letters of an unknown job are NotFound", async () => {
      expect((await errorOf(api.listRuns("job_nope"))).code).toBe("not_found");
      expect((await errorOf(api.listDeadLetters("job_nope"))).code).toBe("not_found");
    });

    it("18: a change answered just before a slot decides that slot (new target, disabled, new schedule)", async () => {
      const before = path(() => ({ status: 200 }));
      const after = path(() => ({ status: 200 }));
      const created = await api.createJob(job(before, { schedule: "* * * * * *", concurrency_policy: "CONCURRENCY_POLICY_ALLOW" }));
      await until(
        async () => at(before).length,
        (n) => n >= 1,
      );
      // The target moves 60 ms before a slot: that slot, staged already, goes to the new URL.
      await untilBeforeSlot(60);
      await api.patchJob(created.job_id, { target: { url: `${sink.url}${after}` } });
      const moved = Date.now();
      await until(
        async () => at(after).length,
        (n) => n >= 2,
        5000,
      );
      expect(
        at(before)
          .filter((d) => Date.parse(d.scheduledAt) > moved)
          .map((d) => [d.scheduledAt, d.receivedAt - moved, d.runId]),
      ).toEqual([]);
      // Every other second from 40 ms before a slot: the odd slot staged already is withdrawn.
      await untilBeforeSlot(40);
      const v = await api.getJob(created.job_id);
      await api.putJob({ ...v, schedule: "*/2 * * * * *" });
      const rescheduled = Date.now();
      await sleep(2600);
      const later = at(after).filter((d) => Date.parse(d.scheduledAt) > rescheduled);
      expect(later.length).toBeGreaterThan(0);
      expect(later.filter((d) => new Date(d.scheduledAt).getUTCSeconds() % 2 === 1)).toEqual([]);
      // Disabled by a read-modify-write PUT 50 ms before a slot: nothing more fires.
      await untilBeforeSlot(50, 2000);
      const w = await api.getJob(created.job_id);
      await api.putJob({ ...w, enabled: false });
      const disabled = Date.now();
      await sleep(2500);
      expect(at(after).filter((d) => Date.parse(d.scheduledAt) > disabled)).toEqual([]);
      expect((await api.getJob(created.job_id)).status).toBe("paused");
      await api.deleteJob(created.job_id);
    });
  });

  let currentRule: (d: Delivery) => { status: number; delayMs?: number } = () => ({ status: 200 });
});

/** Waits until `leadMs` before the next slot of a schedule whose slots fall every `periodMs`. */
async function untilBeforeSlot(leadMs: number, periodMs = 1000): Promise<void> {
  const now = Date.now();
  let next = Math.ceil(now / periodMs) * periodMs;
  if (next - now < leadMs + 20) next += periodMs;
  await sleep(next - leadMs - now);
}
