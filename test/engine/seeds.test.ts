import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiDriver, errorOf, until, type ApiDriver, type Obj, type Protocol } from "../harness/api-driver.js";
import { rest, startTestNode, type StoreKind, type TestNode } from "../harness/node.js";
import { startSink, type Delivery, type Reply, type Sink } from "../harness/sink.js";

/**
 * Issue 18: what the seed systems' users expect, driven as they would, over REST and Connect on
 * both stores against a recording sink.
 */
describe.each<StoreKind>(["sqlite", "mongo"])("seed users on %s", (kind) => {
  let sink: Sink;
  let t: TestNode;
  let seq = 0;
  let rule: (d: Delivery) => Reply | undefined = () => undefined;

  beforeAll(async () => {
    sink = await startSink();
    sink.reply((d) => rule(d) ?? { status: 200, body: "ok" });
    // A run's state reaches the store a minute after it starts: a read that sees it running sees its live state.
    t = await startTestNode(kind, { env: { STATS_FLUSH_MS: "100", RESPONSE_EXCERPT_BYTES: "2048", RUN_CHECKPOINT_MS: "60000" } });
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

    /** A path of the sink of its own, answered by `reply` (200 "ok" otherwise). */
    const path = (reply?: (d: Delivery) => Reply) => {
      const p = `/s/${kind}/${protocol}/${++seq}`;
      if (reply) {
        const previous = rule;
        rule = (d) => (d.path === p ? reply(d) : previous(d));
      }
      return p;
    };
    const job = (p: string, extra: Obj = {}): Obj => ({
      name: `seed ${seq}`,
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

    it("a run reads running on every read path as soon as it starts, before its state is stored", async () => {
      const p = path(() => ({ status: 200, delayMs: 1500 }));
      const created = await api.createJob(job(p));
      const { run_id } = await api.triggerJob(created.job_id);
      await until(
        async () => at(p).length,
        (n) => n === 1,
        5000,
      );
      const [one, running, queued, cluster] = await Promise.all([
        api.getRun(run_id),
        api.listRunsPage({ job_id: created.job_id, status: "running" }),
        api.listRunsPage({ job_id: created.job_id, status: "queued" }),
        api.clusterStatus(),
      ]);
      expect(one.status).toBe("running");
      expect(running.runs.map((r: Obj) => [r.run_id, r.status])).toEqual([[run_id, "running"]]);
      expect(running.total_size).toBe(1);
      expect(queued.runs).toEqual([]);
      expect(cluster.running).toBeGreaterThanOrEqual(1);
      expect((await final(run_id)).status).toBe("succeeded");
      expect((await api.listRunsPage({ job_id: created.job_id, status: "running" })).runs).toEqual([]);
    });

    it("a job carries the final state of its latest run", async () => {
      let healthy = false;
      const p = path(() => ({ status: healthy ? 200 : 500 }));
      const created = await api.createJob(job(p));
      expect(created.last_run_status ?? "unspecified").toBe("unspecified");
      await final((await api.triggerJob(created.job_id)).run_id);
      await until(
        () => api.getJob(created.job_id),
        (j) => j.last_run_status === "failed",
      );
      healthy = true;
      await final((await api.triggerJob(created.job_id)).run_id);
      const ok = await until(
        () => api.getJob(created.job_id),
        (j) => j.last_run_status === "succeeded",
      );
      expect(ok.run_count).toBe(2);
      const listed = (await api.listJobsPage({ limit: 1000 })).data.find((j: Obj) => j.job_id === created.job_id);
      expect(listed.last_run_status).toBe("succeeded");
    });

    it("GET /jobs/{id}/status: the latest run as it stands and each task's state", async () => {
      let slow = true;
      const extract = path(() => ({ status: 200, delayMs: slow ? 1200 : 0 }));
      const load = path();
      const created = await api.createJob(
        job(extract, {
          schedule: "",
          target: null,
          tasks: [
            { task_id: "extract", name: "Extract", target: { url: `${sink.url}${extract}` } },
            { task_id: "load", depends_on: ["extract"], target: { url: `${sink.url}${load}` } },
          ],
        }),
      );
      const never = await api.getJobStatus(created.job_id);
      expect(never).toMatchObject({ job_id: created.job_id, job_status: "active" });
      expect(never.status ?? "unspecified").toBe("unspecified");
      expect(never.latest_run ?? null).toBeNull();
      expect(never.tasks.map((x: Obj) => [x.task_id, x.name, x.depends_on, x.status ?? "unspecified"])).toEqual([
        ["extract", "Extract", [], "unspecified"],
        ["load", "load", ["extract"], "unspecified"],
      ]);
      const { run_id } = await api.triggerJob(created.job_id);
      await until(
        async () => at(extract).length,
        (n) => n === 1,
      );
      const during = await api.getJobStatus(created.job_id);
      expect(during.status).toBe("running");
      expect(during.latest_run.run_id).toBe(run_id);
      expect(during.tasks.map((x: Obj) => [x.task_id, x.status])).toEqual([
        ["extract", "running"],
        ["load", "queued"],
      ]);
      slow = false;
      await final(run_id);
      const after = await api.getJobStatus(created.job_id);
      expect(after.status).toBe("succeeded");
      expect(after.tasks.map((x: Obj) => [x.task_id, x.status, typeof x.finished_at])).toEqual([
        ["extract", "succeeded", "number"],
        ["load", "succeeded", "number"],
      ]);
    });

    it("TriggerJob with wait answers with the finished run, or with the run as it stands when the wait ends", async () => {
      let delayMs = 200;
      const p = path(() => ({ status: 200, body: "done", delayMs }));
      const created = await api.createJob(job(p));
      const done = await api.triggerWait(created.job_id, "30s");
      expect(done.run).toMatchObject({ status: "succeeded", status_code: 200, response_excerpt: "done", job_name: created.name });
      expect(done.run.attempts).toHaveLength(1);
      expect(done).toMatchObject({ job_id: created.job_id, lock_acquired: true, run_id: done.run.run_id });
      delayMs = 4000;
      const started = Date.now();
      const cut = await api.triggerWait(created.job_id, "1500ms");
      expect(Date.now() - started).toBeLessThan(3000);
      // Its request left within the wait (the sink has it): the run stands running.
      expect(at(p)).toHaveLength(2);
      expect(cut.run.status).toBe("running");
      // Go-style and proto durations alike; a blocked trigger (forbid) is final at once.
      const blocked = await api.triggerWait(created.job_id, "1m");
      expect(blocked).toMatchObject({ lock_acquired: false, run: { status: "skipped" } });
      expect((await final(cut.run.run_id)).status).toBe("succeeded");
    });

    it("TriggerJob with wait, again and again on a job that forbids overlaps: each run starts at once", async () => {
      const p = path(() => ({ status: 200, body: "quick" }));
      const created = await api.createJob(job(p));
      for (let i = 0; i < 4; i++) {
        const started = Date.now();
        const { run } = await api.triggerWait(created.job_id, "30s");
        expect(run.status).toBe("succeeded");
        // Not left to the claim scan (every 2 s) because the previous run's job claim was still being released.
        expect(Date.now() - started).toBeLessThan(1000);
      }
    });

    it("durations as people write them, on every duration field, answered in proto's seconds", async () => {
      const created = await api.createJob(
        job(path(), {
          max_jitter: "1h30m",
          catchup_window: "90m",
          target: { url: `${sink.url}/any`, timeout: "1m" },
          retry: { max_attempts: 3, initial_backoff: "500ms", max_backoff: "2m" },
        }),
      );
      const read = await api.getJob(created.job_id);
      expect([read.max_jitter, read.catchup_window, read.target.timeout, read.retry.initial_backoff, read.retry.max_backoff]).toEqual([
        "5400s",
        "5400s",
        "60s",
        "0.500s",
        "120s",
      ]);
      const patched = await api.patchJob(created.job_id, { target: { timeout: "1.5m" } });
      expect(patched.target.timeout).toBe("90s");
      const refused = await errorOf(api.patchJob(created.job_id, { max_jitter: "an hour" }));
      expect([refused.code, refused.field]).toEqual(["invalid_argument", protocol === "rest" ? "max_jitter" : "job.max_jitter"]);
    });

    it("lists runs by trigger and slot time range, newest or oldest first, with offsets, pages and totals", async () => {
      const p = path();
      const minute = 60_000;
      const from = Math.floor(Date.now() / minute) * minute - 10 * minute;
      // Due at the five minutes backfilled alone (UTC): "* * * * *" fired a scheduled run when the
      // test crossed a minute, and the listing counted 9 runs. Its next slot is some 50 minutes away.
      const slots = [0, 1, 2, 3, 4].map((i) => new Date(from + i * minute));
      const schedule = `${[...new Set(slots.map((d) => d.getUTCMinutes()))].join(",")} ${[...new Set(slots.map((d) => d.getUTCHours()))].join(",")} * * *`;
      const created = await api.createJob(job(p, { schedule, timezone: "UTC", concurrency_policy: "CONCURRENCY_POLICY_ALLOW" }));
      const manual: string[] = [];
      for (let i = 0; i < 3; i++) manual.push((await api.triggerWait(created.job_id, "10s")).run.run_id);
      await api.listRunsPage({ job_id: created.job_id }); // the job exists
      const backfill = await backfillRuns(t.baseUrl, protocol, created.job_id, from, from + 5 * minute);
      expect(backfill).toHaveLength(5);
      await until(
        () => api.listRunsPage({ job_id: created.job_id, status: "succeeded" }),
        (r) => r.total_size === 8,
      );
      const all = await api.listRunsPage({ job_id: created.job_id });
      expect(all.total_size).toBe(8);
      const newestFirst = all.runs.map((r: Obj) => r.run_id);
      expect(newestFirst).toEqual([...newestFirst].sort().reverse());
      const oldest = await api.listRunsPage({ job_id: created.job_id, order: "oldest_first", limit: 3 });
      expect(oldest.runs.map((r: Obj) => r.run_id)).toEqual([...newestFirst].reverse().slice(0, 3));
      expect(oldest.total_size).toBe(8);
      const next = await api.listRunsPage({ job_id: created.job_id, order: "oldest_first", page_size: 3, page_token: oldest.next_page_token });
      expect(next.runs.map((r: Obj) => r.run_id)).toEqual([...newestFirst].reverse().slice(3, 6));
      const offset = await api.listRunsPage({ job_id: created.job_id, limit: 3, offset: 2 });
      expect(offset.runs.map((r: Obj) => r.run_id)).toEqual(newestFirst.slice(2, 5));
      const page = await api.listRunsPage({ job_id: created.job_id, limit: 3, page: 2 });
      expect(page.runs.map((r: Obj) => r.run_id)).toEqual(newestFirst.slice(3, 6));
      const manualOnly = await api.listRunsPage({ job_id: created.job_id, trigger: "manual" });
      expect([manualOnly.runs.map((r: Obj) => r.run_id).sort(), manualOnly.total_size]).toEqual([[...manual].sort(), 3]);
      const range = await api.listRunsPage({
        job_id: created.job_id,
        trigger: "backfill",
        start_time: new Date(from + minute).toISOString(),
        end_time: new Date(from + 4 * minute).toISOString(),
      });
      expect(range.runs.map((r: Obj) => r.scheduled_at)).toEqual([from + 3 * minute, from + 2 * minute, from + minute]);
      expect(range.total_size).toBe(3);
      expect((await api.listRunsPage({ job_id: created.job_id, limit: 2 })).next_page_token).not.toBe("");
      if (protocol === "rest") {
        // Seed 002's GET /jobs/{id}/executions?limit=20, and 001's limit/offset, under the job.
        const nested = await rest(t.baseUrl, "GET", `/api/v1/cron/jobs/${created.job_id}/runs?limit=2&offset=1&order=oldest_first`);
        expect([nested.status, nested.body.runs.map((r: Obj) => r.run_id), nested.body.total_size]).toEqual([200, [...newestFirst].reverse().slice(1, 3), 8]);
      }
    });

    it("counts and pages the dead-letter queue and the job list by offset", async () => {
      const p = path(() => ({ status: 500 }));
      const created = await api.createJob(job(p, { concurrency_policy: "CONCURRENCY_POLICY_ALLOW", project_id: `dlq${seq}` }));
      const failed: string[] = [];
      for (let i = 0; i < 3; i++) failed.push((await api.triggerWait(created.job_id, "10s")).run.run_id);
      const dead = await api.listDeadLettersPage({ job_id: created.job_id, limit: 2, offset: 1 });
      expect(dead.runs.map((r: Obj) => r.run_id)).toEqual([failed[1], failed[0]]);
      expect(dead.total_size).toBe(3);
      const project = `proj${seq}`;
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) ids.push((await api.createJob(job(path(), { project_id: project, name: `j${i}` }))).job_id);
      const jobs = await api.listJobsPage({ project_id: project, limit: 2, offset: 1 });
      expect(jobs.data.map((j: Obj) => j.job_id)).toEqual([...ids].sort().slice(1, 3));
      expect(jobs.pagination).toEqual({ page: 1, limit: 2, total: 4 });
    });

    it("GetJob carries the newest runs: five by default, as many as asked up to fifty, none on request", async () => {
      const p = path();
      const created = await api.createJob(job(p, { concurrency_policy: "CONCURRENCY_POLICY_ALLOW" }));
      const runs: string[] = [];
      for (let i = 0; i < 7; i++) runs.push((await api.triggerWait(created.job_id, "10s")).run.run_id);
      const newest = [...runs].reverse();
      expect((await api.getJob(created.job_id)).recent_runs.map((r: Obj) => r.run_id)).toEqual(newest.slice(0, 5));
      const two = await api.getJobWith(created.job_id, 2);
      expect(two.recent_runs.map((r: Obj) => [r.run_id, r.status])).toEqual(newest.slice(0, 2).map((id) => [id, "succeeded"]));
      expect((await api.getJobWith(created.job_id, 0)).recent_runs ?? []).toEqual([]);
      expect((await api.getJobWith(created.job_id, 50)).recent_runs).toHaveLength(7);
      const refused = await errorOf(api.getJobWith(created.job_id, 51));
      expect([refused.code, refused.field]).toEqual(["invalid_argument", "recent_runs"]);
    });

    it("a run carries its job's name, its final attempt's status and answer, and its retry count", async () => {
      let calls = 0;
      const p = path(() => (++calls === 1 ? { status: 503, body: "busy" } : { status: 200, body: "x".repeat(5000) }));
      const created = await api.createJob(job(p, { retry: { max_attempts: 3, initial_backoff: "10ms", retry_on: "RETRY_ON_ON_FAILURE" } }));
      const { run } = await api.triggerWait(created.job_id, "10s");
      expect(run).toMatchObject({ status: "succeeded", job_name: created.name, status_code: 200, retry_count: 1 });
      // The node's RESPONSE_EXCERPT_BYTES (2 KiB here) when the target sets no limit.
      expect(run.response_excerpt).toBe("x".repeat(2048));
      const listed = (await api.listRunsPage({ job_id: created.job_id })).runs[0];
      expect(listed).toMatchObject({ job_name: created.name, status_code: 200, retry_count: 1 });
      const big = await api.createJob(
        job(
          path(() => ({ status: 200, body: "y".repeat(70_000) })),
          { target: { url: `${sink.url}/big${seq}`, response_excerpt_bytes: 65_536 } },
        ),
      );
      rule = ((previous) => (d: Delivery) => (d.path === `/big${seq}` ? { status: 200, body: "y".repeat(70_000) } : previous(d)))(rule);
      const long = await api.triggerWait(big.job_id, "10s");
      expect(long.run.response_excerpt).toHaveLength(65_536);
      expect((await api.getJob(big.job_id)).target.response_excerpt_bytes).toBe(65_536);
    });

    it("an excerpt never shows the credentials the job sent, even when the target echoes them", async () => {
      const p = path((d) => ({ status: 200, body: `auth=${String(d.headers.authorization)} key=${String(d.headers["x-api-key"])}` }));
      const created = await api.createJob(
        job(p, {
          target: { url: `${sink.url}${p}`, headers: { "X-API-Key": "key-9f8e7d6c5b" }, auth: { bearer: { token: "tok-0a1b2c3d4e5f" } } },
        }),
      );
      const { run } = await api.triggerWait(created.job_id, "10s");
      expect(at(p)[0]!.headers.authorization).toBe("Bearer tok-0a1b2c3d4e5f");
      expect(run.response_excerpt).toBe("auth=[redacted] key=[redacted]");
      expect(JSON.stringify(await api.getRun(run.run_id))).not.toMatch(/tok-0a1b|key-9f8e/);
    });

    it("a hand-run job is built task by task and refused when triggered while a task has nothing to call, naming it", async () => {
      const p = path();
      const created = await api.createJob({ name: `dag ${seq}`, tasks: [{ task_id: "extract", name: "Extract" }] });
      expect(created).toMatchObject({ status: "active", enabled: true });
      expect(created.next_trigger_at ?? null).toBeNull();
      const withLoad = await api.addTask(created.job_id, { task_id: "load", name: "Load", depends_on: ["extract"] });
      expect(withLoad.tasks.map((x: Obj) => [x.task_id, x.depends_on])).toEqual([
        ["extract", []],
        ["load", ["extract"]],
      ]);
      const refused = await errorOf(api.triggerJob(created.job_id));
      expect([refused.code, refused.field]).toEqual(["failed_precondition", "tasks[0].target"]);
      expect(refused.message).toContain("extract");
      await api.updateTask(created.job_id, { task_id: "extract", name: "Extract", target: { url: `${sink.url}${p}` } });
      const still = await errorOf(api.triggerJob(created.job_id));
      expect([still.field, still.message.includes("load")]).toEqual(["tasks[1].target", true]);
      await api.updateTask(created.job_id, { task_id: "load", name: "Load", depends_on: ["extract"], target: { url: `${sink.url}${p}` } });
      const { run } = await api.triggerWait(created.job_id, "10s");
      expect(run.status).toBe("succeeded");
      expect(at(p)).toHaveLength(2);
      const read = await api.getJob(created.job_id);
      expect([read.status, read.next_trigger_at ?? null]).toEqual(["active", null]);
      const empty = await api.createJob({ name: `empty ${seq}` });
      expect((await errorOf(api.triggerJob(empty.job_id))).field).toBe("target");
    });

    it("DeleteJob with purge_runs takes the job's finished runs and dead letters with it; without, they stay", async () => {
      let healthy = false;
      const p = path(() => ({ status: healthy ? 200 : 500 }));
      const make = async () => {
        const created = await api.createJob(job(p, { concurrency_policy: "CONCURRENCY_POLICY_ALLOW" }));
        healthy = false;
        const dead = (await api.triggerWait(created.job_id, "10s")).run.run_id;
        healthy = true;
        const ok = (await api.triggerWait(created.job_id, "10s")).run.run_id;
        return { jobId: created.job_id, dead, ok };
      };
      const purged = await make();
      const answer = await api.deleteJobPurging(purged.jobId);
      expect(answer).toMatchObject({ deleted: true, job_id: purged.jobId, purged_runs: 2 });
      for (const id of [purged.dead, purged.ok]) expect((await errorOf(api.getRun(id))).code).toBe("not_found");
      const kept = await make();
      expect((await api.deleteJob(kept.jobId)).purged_runs ?? 0).toBe(0);
      expect((await api.getRun(kept.ok)).status).toBe("succeeded");
      expect((await api.listDeadLettersPage({ job_id: kept.jobId })).runs.map((r: Obj) => r.run_id)).toEqual([kept.dead]);
    });
  });
});

/** BackfillJob over the given protocol (not in the driver: one test needs it); the run ids. */
async function backfillRuns(baseUrl: string, protocol: Protocol, jobId: string, from: number, to: number): Promise<string[]> {
  const body = { start_time: new Date(from).toISOString(), end_time: new Date(to).toISOString() };
  const res =
    protocol === "rest"
      ? await fetch(`${baseUrl}/api/v1/cron/jobs/${jobId}/backfill`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        })
      : await fetch(`${baseUrl}/cronmesh.v1.CronService/BackfillJob`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ job_id: jobId, ...body }),
        });
  const json = (await res.json()) as { run_ids?: string[]; runIds?: string[] };
  return json.run_ids ?? json.runIds ?? [];
}
