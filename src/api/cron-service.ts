import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { CronService, type ListJobsRequest, type UpdateJobRequest } from "../../gen/cronmesh/v1/cron_service_pb.js";
import { JobSchema, JobStatus as PJobStatus, type Job } from "../../gen/cronmesh/v1/job_pb.js";
import type { ClusterQueries } from "../app/cluster.js";
import type { Actor, JobCommands } from "../app/jobs.js";
import type { RunCommands } from "../app/runs.js";
import type { Clock } from "../domain/clock.js";
import { CronError } from "../domain/cron-error.js";
import type { JobRecord, JobStatus } from "../domain/job.js";
import { nextFireTimes, validateSchedule, validateTimezone } from "../domain/schedule.js";
import type { NodeLoad } from "../scheduler/overload.js";
import { actorOf } from "./actor.js";
import { identityOf } from "./auth-interceptor.js";
import { jobStatus, runStatus } from "./enums.js";
import { applyFieldMask, setFieldPaths } from "./field-mask.js";
import { OUTPUT_ONLY_JOB_FIELDS } from "./job-fields.js";
import { statusAfter } from "./status-update.js";
import { jobToProto, restoreRedactedSecrets, sharedJobProto, revealedJob, specFromProto, taskFromProto, taskToProto, versionToProto } from "./job-mapper.js";
import { decodePageToken, encodePageToken, pageSize, pagingOf } from "./page-token.js";
import { runToProto } from "./run-mapper.js";
import { taskStates } from "../domain/task-states.js";
import { topologicalOrder } from "../domain/dag.js";
import { durationToMs, tsOf } from "./time.js";

/** What the CronService implementation needs. */
export interface CronServiceDeps {
  jobs: JobCommands;
  runs: RunCommands;
  cluster: ClusterQueries;
  clock: Clock;
  /** "single" (embedded) or "cluster". */
  mode: string;
}

/** Preview at most this many times per call. */
const MAX_PREVIEW = 1000;
const DEFAULT_PREVIEW = 5;
const DEFAULT_NEXT_RUNS = 10;
/** GetJob's recent runs: five unless asked otherwise (seed 001's detail view), at most fifty. */
const DEFAULT_RECENT_RUNS = 5;
const MAX_RECENT_RUNS = 50;
/** The longest TriggerJob waits for its run: a call held longer belongs to WatchRuns. */
const MAX_TRIGGER_WAIT_MS = 5 * 60_000;

/** Creates the CronService implementation over the application use cases. */
export function createCronService(deps: CronServiceDeps): ServiceImpl<typeof CronService> {
  const { jobs, runs, clock } = deps;
  /** The job as answered: its proto with lock_acquired (a run of it is queued or running anywhere). */
  const jobAnswer = async (job: JobRecord) => jobToProto(job, { lockAcquired: (await runs.busyJobs([job.jobId])).has(job.jobId) });
  const requireId = (id: string, field = "job_id") => {
    if (!id) throw CronError.invalid(field, "is required");
    return id;
  };

  return {
    async createJob(req, ctx) {
      const input = req.job ?? create(JobSchema);
      const job = await jobs.create(specFromProto(input), { jobId: input.jobId, enabled: input.enabled }, actorOf(ctx));
      // Read like any other answer: runs of an earlier job of the same id, deleted meanwhile, may still run.
      return { job: await jobAnswer(job) };
    },

    async getJob(req, ctx) {
      const actor = actorOf(ctx);
      const count = req.recentRuns ?? DEFAULT_RECENT_RUNS;
      if (count < 0 || count > MAX_RECENT_RUNS) throw CronError.invalid("recent_runs", `must be between 0 and ${MAX_RECENT_RUNS}`);
      const jobId = requireId(req.jobId);
      // The three reads at once; the answers about runs are used only once the job was found in the
      // caller's project (a failure of theirs is then the call's, else the job's own error wins),
      // so the listing need not read the job as well.
      const recent = count > 0 ? settled(runs.list({ jobId, pageSize: count }, actor, { jobReadByCaller: true })) : undefined;
      const [found, busy] = await Promise.all([jobs.get(jobId, actor), runs.busyJobs([jobId])]);
      const job = jobToProto(found, { lockAcquired: busy.has(jobId) });
      if (recent) job.recentRuns = (await unsettled(recent)).items.map(runToProto);
      return { job };
    },

    listJobs: (req, ctx) => listJobs(jobs, runs, req, actorOf(ctx)),

    async updateJob(req, ctx) {
      const input = req.job ?? create(JobSchema);
      const current = await jobs.get(requireId(input.jobId, "job.job_id"), actorOf(ctx));
      const updated = await jobs.change(current.jobId, (c) => mergeUpdate(c, req), Number(input.version), actorOf(ctx), "update");
      return { job: await jobAnswer(updated) };
    },

    async deleteJob(req, ctx) {
      const jobId = requireId(req.jobId);
      const { cancelled, purged } = await jobs.remove(jobId, actorOf(ctx), { purgeRuns: req.purgeRuns });
      return { deleted: true, jobId, cancelledRuns: cancelled, purgedRuns: purged };
    },

    async triggerJob(req, ctx) {
      const waitMs = durationToMs(req.wait, "wait");
      if (waitMs > MAX_TRIGGER_WAIT_MS) throw CronError.invalid("wait", "must be at most 5m");
      const job = await jobs.get(requireId(req.jobId), actorOf(ctx));
      const result = await runs.trigger(job);
      const run = waitMs > 0 ? await runs.settled(result.run.runId, waitMs, actorOf(ctx), ctx.signal) : result.run;
      return {
        jobId: job.jobId,
        triggeredAt: timestampFromMs(result.triggeredAt),
        lockAcquired: result.lockAcquired,
        runId: result.run.runId,
        run: runToProto(run),
      };
    },

    async pauseJob(req, ctx) {
      return { job: await jobAnswer(await jobs.setEnabled(requireId(req.jobId), false, req.note, actorOf(ctx))) };
    },

    async resumeJob(req, ctx) {
      return { job: await jobAnswer(await jobs.setEnabled(requireId(req.jobId), true, req.note, actorOf(ctx))) };
    },

    async previewSchedule(req) {
      const tz = req.timezone || "UTC";
      validateTimezone(tz);
      validateSchedule(req.schedule, tz);
      if (req.count < 0 || req.count > MAX_PREVIEW) throw CronError.invalid("count", `must be between 1 and ${MAX_PREVIEW}`);
      const after = req.after ? timestampMs(req.after) : clock.now();
      const times = nextFireTimes(req.schedule, tz, after, req.count || DEFAULT_PREVIEW);
      return { times: times.map((t) => timestampFromMs(t)) };
    },

    async listJobVersions(req, ctx) {
      const size = pageSize(req.pageSize, "page_size");
      const before = decodePageToken(req.pageToken);
      const versions = await jobs.listVersions(requireId(req.jobId), size, before === undefined ? undefined : Number(before), actorOf(ctx));
      const last = versions[versions.length - 1];
      const more = versions.length === size && last !== undefined && last.version > 1;
      return { versions: versions.map(versionToProto), nextPageToken: more ? encodePageToken(String(last.version)) : "" };
    },

    async getJobVersion(req, ctx) {
      return { version: versionToProto(await jobs.getVersion(requireId(req.jobId), Number(req.version), actorOf(ctx))) };
    },

    async rollbackJob(req, ctx) {
      const before = await jobs.get(requireId(req.jobId), actorOf(ctx));
      const job = await jobs.rollback(before.jobId, Number(req.version), actorOf(ctx));
      return { job: await jobAnswer(job), rolledBackFrom: BigInt(before.version), newVersion: BigInt(job.version) };
    },

    async addTask(req, ctx) {
      if (!req.task) throw CronError.invalid("task", "is required");
      const job = await jobs.editTask(requireId(req.jobId), { kind: "add", task: taskFromProto(req.task, "task") }, actorOf(ctx));
      return { job: await jobAnswer(job) };
    },

    async updateTask(req, ctx) {
      if (!req.task) throw CronError.invalid("task", "is required");
      const job = await jobs.editTask(requireId(req.jobId), { kind: "update", task: taskFromProto(req.task, "task") }, actorOf(ctx));
      return { job: await jobAnswer(job) };
    },

    async deleteTask(req, ctx) {
      const job = await jobs.editTask(requireId(req.jobId), { kind: "delete", taskId: req.taskId }, actorOf(ctx));
      return { job: await jobAnswer(job) };
    },

    async listTasks(req, ctx) {
      return { tasks: (await jobs.listTasks(requireId(req.jobId), actorOf(ctx))).map((t) => taskToProto(t)) };
    },

    async backfillJob(req, ctx) {
      const job = await jobs.get(requireId(req.jobId), actorOf(ctx));
      if (!req.startTime) throw CronError.invalid("start_time", "is required");
      if (!req.endTime) throw CronError.invalid("end_time", "is required");
      const created = await runs.backfill(job, timestampMs(req.startTime), timestampMs(req.endTime));
      return { runIds: created.map((r) => r.runId), slots: created.length };
    },

    async getJobStatus(req, ctx) {
      const actor = actorOf(ctx);
      const job = await jobs.get(requireId(req.jobId), actor);
      const [latest] = (await runs.list({ jobId: job.jobId, pageSize: 1 }, actor, { jobReadByCaller: true })).items;
      return {
        jobId: job.jobId,
        status: latest ? runStatus.toProto(latest.status) : 0,
        latestRun: latest && runToProto(latest),
        tasks: taskStates(topologicalOrder(job.spec.tasks), latest).map((t) => ({
          ...t,
          status: t.status ? runStatus.toProto(t.status) : 0,
          startedAt: tsOf(t.startedAt),
          finishedAt: tsOf(t.finishedAt),
        })),
        jobStatus: jobStatus.toProto(job.status),
      };
    },

    async getWhoAmI(_req, ctx) {
      // Without authentication every caller is an admin of every project; the actor header only names them.
      const { projectId, roles, authMode } = identityOf(ctx);
      return { subject: actorOf(ctx).id, projectId, roles, authMode };
    },

    async getClusterStatus(req, ctx) {
      const limit = req.nextRunsLimit < 0 || req.nextRunsLimit > 100 ? -1 : req.nextRunsLimit || DEFAULT_NEXT_RUNS;
      if (limit < 0) throw CronError.invalid("next_runs_limit", "must be between 1 and 100");
      const view = await deps.cluster.view(actorOf(ctx), limit);
      return {
        isLeader: view.leaderId === view.nodeId,
        leaderId: view.leaderId ?? "",
        nodeId: view.nodeId,
        mode: deps.mode,
        members: view.members.map(({ load, ...m }) => ({
          ...m,
          startedAt: timestampFromMs(m.startedAt),
          isLeader: m.nodeId === view.leaderId,
          overloaded: load?.overloaded ?? false,
          queuedRuns: BigInt(load?.queuedRuns ?? 0),
        })),
        jobsTotal: BigInt(view.jobsTotal),
        running: BigInt(view.running),
        nextRuns: view.next.map((j) => ({ jobId: j.jobId, name: j.spec.name, nextRun: timestampFromMs(j.nextTriggerAt!) })),
        overloaded: (view.load?.overloaded ?? false) || view.members.some((m) => m.load?.overloaded),
        load: view.load && nodeLoadToProto(view.load),
      };
    },
  };
}

/** The proto form of a node's load. */
function nodeLoadToProto(load: NodeLoad) {
  return {
    overloaded: load.overloaded,
    queuedRuns: BigInt(load.queuedRuns),
    queueBound: BigInt(load.queueBound),
    oldestQueuedAge: load.oldestQueuedAgeMs === undefined ? undefined : durationFromMs(load.oldestQueuedAgeMs),
    startRate: load.startRate,
    shedTotal: BigInt(load.shedTotal),
  };
}

/**
 * The job after applying the update request's mask to the current job. Without a mask, the mask is
 * inferred from the leaf fields the request sets (see {@link setFieldPaths}).
 */
function mergeUpdate(current: JobRecord, req: UpdateJobRequest): { spec: JobRecord["spec"]; status?: JobStatus } {
  const input = req.job!;
  const paths = req.updateMask?.paths.length ? req.updateMask.paths : setFieldPaths(JobSchema, input);
  const merged: Job = applyFieldMask(JobSchema, revealedJob(current), input, paths, OUTPUT_ONLY_JOB_FIELDS);
  const spec = restoreRedactedSecrets(specFromProto(merged), current.spec);
  const asked = {
    status: paths.includes("status") && merged.status !== PJobStatus.UNSPECIFIED ? jobStatus.toDomain(merged.status) : undefined,
    enabled: paths.includes("enabled") ? merged.enabled : undefined,
  };
  return { spec, status: statusAfter(current.status, asked) };
}

/** The listed jobs in proto form (shared, see sharedJobProto), each with its lock_acquired (one read for the page). */
async function listedJobs(runs: RunCommands, items: JobRecord[]): Promise<Job[]> {
  const busy = items.length === 0 ? new Set<string>() : await runs.busyJobs(items.map((j) => j.jobId));
  return items.map((j) => sharedJobProto(j, busy.has(j.jobId)));
}

async function listJobs(jobs: JobCommands, runs: RunCommands, req: ListJobsRequest, actor: Actor) {
  const filter = {
    projectId: req.projectId,
    status: req.status ? jobStatus.toDomain(req.status) : undefined,
    tag: req.tag,
    text: req.text,
    owner: req.owner,
  };
  const paging = pagingOf(req);
  if (!paging.byOffset) {
    const page = await jobs.list(filter, { pageSize: paging.pageSize, after: paging.cursor }, actor);
    return { data: await listedJobs(runs, page.items), nextPageToken: encodePageToken(page.nextCursor) };
  }
  const { pageSize: limit, offset } = paging;
  const page = Math.floor(offset / limit) + 1;
  const { items, total } = await jobs.listByPage(filter, { page, limit, offset }, actor);
  const more = offset + limit < total && items.length > 0;
  return {
    data: await listedJobs(runs, items),
    pagination: { page, limit, total: BigInt(total) },
    nextPageToken: more ? encodePageToken(items[items.length - 1]!.jobId) : "",
  };
}

/** A read's outcome, held so that a failure of a read whose answer may go unused is not an unhandled rejection. */
type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Starts holding the read's outcome (see {@link Settled}). */
function settled<T>(read: Promise<T>): Promise<Settled<T>> {
  return read.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/** The held read's value, or its failure thrown. */
async function unsettled<T>(held: Promise<Settled<T>>): Promise<T> {
  const outcome = await held;
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}
