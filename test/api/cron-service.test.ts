import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CronService } from "../../gen/cronmesh/v1/cron_service_pb.js";
import { ConcurrencyPolicy, JobSchema, JobStatus, type Job } from "../../gen/cronmesh/v1/job_pb.js";
import { RunService } from "../../gen/cronmesh/v1/run_service_pb.js";
import { RunTrigger } from "../../gen/cronmesh/v1/run_pb.js";
import { rest, startTestNode, type StoreKind, type TestNode } from "../harness/node.js";

async function codeOf(p: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await p;
    return "ok";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

function httpJob(overrides: Partial<Job> = {}): Job {
  return create(JobSchema, {
    name: "invoice",
    schedule: "0 9 * * *",
    timezone: "Europe/Belgrade",
    target: {
      url: "http://127.0.0.1:9/invoice",
      headers: { "X-Job": "invoice", Authorization: "Bearer inline-header-secret" },
      auth: { kind: { case: "bearer", value: { token: "inline-token" } } },
    },
    tags: { team: "billing" },
    ...overrides,
  });
}

describe.each<StoreKind>(["sqlite", "mongo"])("CronService over typed clients on %s", (kind) => {
  let t: TestNode;
  let cron: Client<typeof CronService>;
  let runs: Client<typeof RunService>;
  const actor = { "x-cronmesh-actor": "alice" };

  beforeAll(async () => {
    t = await startTestNode(kind);
    // gRPC (HTTP/2) for CronService, Connect (HTTP/1.1) for RunService: both on the same port.
    cron = createClient(CronService, createGrpcTransport({ baseUrl: t.baseUrl }));
    runs = createClient(RunService, createConnectTransport({ baseUrl: t.baseUrl, httpVersion: "1.1" }));
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("never returns inline secrets but keeps them through a read-modify-write", async () => {
    const { job } = await cron.createJob({ job: httpJob() }, { headers: actor });
    expect(job!.target!.auth!.kind.value).toMatchObject({ token: "[redacted]" });
    expect(job!.target!.headers.Authorization).toBe("[redacted]");
    const restView = await rest(t.baseUrl, "GET", `/api/v1/cron/jobs/${job!.jobId}`);
    expect(JSON.stringify(restView.body)).not.toContain("inline-token");
    const edited = { ...job!, description: "edited" };
    const { job: updated } = await cron.updateJob({ job: edited, updateMask: { paths: ["description", "target"] } });
    expect(updated!.version).toBe(2n);
    const { version } = await cron.getJobVersion({ jobId: job!.jobId, version: 2n });
    expect(version!.config!.target!.auth!.kind.value).toMatchObject({ token: "[redacted]" });
  });

  it("keeps secret references visible", async () => {
    const j = httpJob();
    j.target!.auth = {
      $typeName: "cronmesh.v1.Auth",
      kind: { case: "apiKey", value: { $typeName: "cronmesh.v1.ApiKeyAuth", key: "secret://svc-key", header: "" } },
    };
    const { job } = await cron.createJob({ job: j });
    expect(job!.target!.auth!.kind.value).toMatchObject({ key: "secret://svc-key", header: "X-API-Key" });
  });

  it("updates with a field mask and refuses a stale version with Aborted", async () => {
    const { job } = await cron.createJob({ job: httpJob({ name: "masked" }) });
    const { job: v2 } = await cron.updateJob({
      job: { ...job!, schedule: "*/10 * * * *", name: "ignored" },
      updateMask: { paths: ["schedule"] },
    });
    expect(v2).toMatchObject({ name: "masked", schedule: "*/10 * * * *", version: 2n });
    expect(await codeOf(cron.updateJob({ job: { ...job!, description: "late" }, updateMask: { paths: ["description"] } }))).toBe(Code.Aborted);
    expect(await codeOf(cron.updateJob({ job: { ...v2!, version: 0n }, updateMask: { paths: ["nonsense"] } }))).toBe(Code.InvalidArgument);
  });

  it("records who changed what in versions and rolls back without rewriting history", async () => {
    const { job } = await cron.createJob({ job: httpJob({ name: "versioned" }) }, { headers: actor });
    await cron.updateJob({ job: { ...job!, schedule: "0 10 * * *" }, updateMask: { paths: ["schedule"] } }, { headers: { "x-cronmesh-actor": "bob" } });
    await cron.pauseJob({ jobId: job!.jobId, note: "holiday" }, { headers: { "x-cronmesh-actor": "carol" } });
    const rolled = await cron.rollbackJob({ jobId: job!.jobId, version: 1n });
    expect(rolled).toMatchObject({ rolledBackFrom: 3n, newVersion: 4n });
    // v1 was active: a rollback restores the paused or active state it recorded.
    expect(rolled.job).toMatchObject({ schedule: "0 9 * * *", status: JobStatus.ACTIVE, enabled: true });
    const { versions } = await cron.listJobVersions({ jobId: job!.jobId });
    expect(versions.map((v) => [v.version, v.createdBy, v.reason])).toEqual([
      [4n, "anonymous", "rollback to v1"],
      [3n, "carol", "pause"],
      [2n, "bob", "update"],
      [1n, "alice", "create"],
    ]);
    const page = await cron.listJobVersions({ jobId: job!.jobId, pageSize: 3 });
    const rest2 = await cron.listJobVersions({ jobId: job!.jobId, pageSize: 3, pageToken: page.nextPageToken });
    expect(rest2.versions.map((v) => v.version)).toEqual([1n]);
    expect(await codeOf(cron.getJobVersion({ jobId: job!.jobId, version: 99n }))).toBe(Code.NotFound);
  });

  it("pauses and resumes with a note and recomputes the next slot", async () => {
    const { job } = await cron.createJob({ job: httpJob({ name: "pausable" }) });
    const paused = await cron.pauseJob({ jobId: job!.jobId, note: "maintenance" });
    expect(paused.job).toMatchObject({ status: JobStatus.PAUSED, enabled: false, pauseNote: "maintenance" });
    const resumed = await cron.resumeJob({ jobId: job!.jobId, note: "done" });
    expect(resumed.job).toMatchObject({ status: JobStatus.ACTIVE, enabled: true, pauseNote: "done" });
    expect(timestampDate(resumed.job!.nextTriggerAt!).getTime()).toBeGreaterThan(Date.now());
  });

  it("edits DAG tasks, rejecting cycles and unknown dependencies, and lists them in order", async () => {
    const { job } = await cron.createJob({ job: httpJob({ name: "dag" }) });
    const id = job!.jobId;
    expect(await codeOf(cron.addTask({ jobId: id, task: { taskId: "load", dependsOn: ["extract"], handler: "h" } }))).toBe(Code.InvalidArgument);
    await cron.addTask({ jobId: id, task: { taskId: "extract", handler: "h" } });
    await cron.addTask({ jobId: id, task: { taskId: "load", dependsOn: ["extract"], handler: "h" } });
    await cron.addTask({ jobId: id, task: { taskId: "report", dependsOn: ["load"], handler: "h" } });
    expect(await codeOf(cron.updateTask({ jobId: id, task: { taskId: "extract", dependsOn: ["report"], handler: "h" } }))).toBe(Code.InvalidArgument);
    expect(await codeOf(cron.deleteTask({ jobId: id, taskId: "load" }))).toBe(Code.FailedPrecondition);
    const { tasks } = await cron.listTasks({ jobId: id });
    expect(tasks.map((x) => x.taskId)).toEqual(["extract", "load", "report"]);
    await cron.deleteTask({ jobId: id, taskId: "report" });
    expect((await cron.listTasks({ jobId: id })).tasks).toHaveLength(2);
  });

  it("previews fire times in a time zone", async () => {
    const { times } = await cron.previewSchedule({
      schedule: "0 9 * * 1-5",
      timezone: "America/New_York",
      count: 3,
      after: timestampFromDate(new Date("2026-03-06T00:00:00Z")),
    });
    expect(times.map((x) => timestampDate(x).toISOString())).toEqual(["2026-03-06T14:00:00.000Z", "2026-03-09T13:00:00.000Z", "2026-03-10T13:00:00.000Z"]);
  });

  it("lists each job as it is now, read after read, over REST and Connect JSON", async () => {
    const { job } = await cron.createJob({ job: httpJob({ name: "relisted", projectId: "p_relist" }) });
    const listings = async () => {
      const viaRest = await rest(t.baseUrl, "GET", "/api/v1/cron/jobs?project_id=p_relist&limit=5");
      const viaConnect = await rest(t.baseUrl, "POST", "/cronmesh.v1.CronService/ListJobs", { projectId: "p_relist", limit: 5 });
      return { rest: viaRest.body.data[0], connect: viaConnect.body.data[0] };
    };
    expect(await listings()).toMatchObject({ rest: { status: "active", version: 1 }, connect: { status: "JOB_STATUS_ACTIVE", version: "1" } });
    expect(await listings()).toMatchObject({ rest: { status: "active" }, connect: { status: "JOB_STATUS_ACTIVE" } });
    await cron.pauseJob({ jobId: job!.jobId, note: "maintenance" });
    const paused = await listings();
    expect(paused).toMatchObject({
      rest: { status: "paused", version: 2, pause_note: "maintenance" },
      connect: { status: "JOB_STATUS_PAUSED", version: "2", pauseNote: "maintenance" },
    });
    expect(JSON.stringify(paused)).not.toContain("inline-token");
  });

  it("filters and walks jobs by cursor", async () => {
    for (const n of ["c1", "c2", "c3"]) await cron.createJob({ job: httpJob({ name: `cursor ${n}`, projectId: "p_cursor", tags: { k: n } }) });
    await cron.createJob({ job: httpJob({ name: "cursor paused", projectId: "p_cursor", enabled: false }) });
    const first = await cron.listJobs({ projectId: "p_cursor", pageSize: 2 });
    const second = await cron.listJobs({ projectId: "p_cursor", pageSize: 2, pageToken: first.nextPageToken });
    expect([...first.data, ...second.data].map((j) => j.name)).toEqual(["cursor c1", "cursor c2", "cursor c3", "cursor paused"]);
    expect(second.nextPageToken).toBe("");
    expect((await cron.listJobs({ projectId: "p_cursor", status: JobStatus.PAUSED })).data.map((j) => j.name)).toEqual(["cursor paused"]);
    expect((await cron.listJobs({ projectId: "p_cursor", tag: "k=c2" })).data.map((j) => j.name)).toEqual(["cursor c2"]);
    expect((await cron.listJobs({ projectId: "p_cursor", text: "C3" })).data.map((j) => j.name)).toEqual(["cursor c3"]);
  });

  it("records a manual trigger as a queued run and reports the cluster", async () => {
    const { job } = await cron.createJob({ job: httpJob({ name: "forbid", concurrencyPolicy: ConcurrencyPolicy.FORBID }) });
    const first = await cron.triggerJob({ jobId: job!.jobId });
    expect(first.lockAcquired).toBe(true);
    const listed = await runs.listRuns({ jobId: job!.jobId });
    expect(listed.runs.map((r) => r.runId)).toEqual([first.runId]);
    expect(listed.runs[0]!.trigger).toBe(RunTrigger.MANUAL);
    const cluster = await cron.getClusterStatus({});
    expect(cluster).toMatchObject({ isLeader: true, mode: "single" });
    expect(cluster.jobsTotal).toBeGreaterThan(0n);
    expect(cluster.nextRuns.length).toBeGreaterThan(0);
  });

  it("answers NotFound for replay, redrive and cancel of unknown runs, and InvalidArgument for an empty backfill range", async () => {
    expect(await codeOf(runs.replayRun({ runId: "run_x" }))).toBe(Code.NotFound);
    expect(await codeOf(runs.redriveRun({ runId: "run_x" }))).toBe(Code.NotFound);
    expect(await codeOf(runs.cancelRun({ runId: "run_x" }))).toBe(Code.NotFound);
    const { job } = await cron.createJob({ job: httpJob({ name: "backfill" }) });
    expect(await codeOf(cron.backfillJob({ jobId: job!.jobId }))).toBe(Code.InvalidArgument);
  });
});
