import { fromJson, toJson, type DescMessage, type JsonValue } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { JobSchema, type Job } from "../../gen/cronmesh/v1/job_pb.js";
import { RunSchema, type Run } from "../../gen/cronmesh/v1/run_pb.js";
import { ListDeadLettersResponseSchema, ListRunsResponseSchema, RedriveVersion } from "../../gen/cronmesh/v1/run_service_pb.js";
import {
  AddTaskResponseSchema,
  CreateJobResponseSchema,
  DeleteJobResponseSchema,
  UpdateJobResponseSchema,
  GetClusterStatusResponseSchema,
  GetJobResponseSchema,
  GetJobStatusResponseSchema,
  ListJobsResponseSchema,
  TriggerJobResponseSchema,
  UpdateTaskResponseSchema,
} from "../../gen/cronmesh/v1/cron_service_pb.js";
import { rpcJson } from "./rpc-json.js";
import { FIELD_METADATA_KEY } from "../../src/api/error-codes.js";
import { clientsFor } from "./clients.js";
import { rest } from "./node.js";

/** Which API a test drives: the legacy REST routes, or Connect with the typed clients. */
export type Protocol = "rest" | "connect";

/** A JSON object as a caller writes it. */
export type Obj = Record<string, any>;

/** A failed call, alike on both protocols: the Connect code name (e.g. `failed_precondition`), field and message. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    readonly field: string,
    message: string,
  ) {
    super(`${code}${field ? ` (${field})` : ""}: ${message}`);
  }
}

/**
 * The few calls the behaviour tests make, over either protocol, with the answers in one shape:
 * proto JSON with proto field names, enums as lower-case short names (`failed`, `active`),
 * timestamps as epoch ms (null when unset), 64-bit integers as numbers. Inputs are written in
 * proto JSON (snake_case, full enum names, durations like "1s"), which both protocols accept.
 */
export interface ApiDriver {
  protocol: Protocol;
  createJob(job: Obj): Promise<Obj>;
  getJob(jobId: string): Promise<Obj>;
  /** PATCH (REST) / UpdateJob without a mask (Connect): only the fields given. */
  patchJob(jobId: string, fields: Obj): Promise<Obj>;
  /** PUT of a whole job as read (REST) / UpdateJob with the whole job (Connect). */
  putJob(job: Obj): Promise<Obj>;
  deleteJob(jobId: string): Promise<Obj>;
  triggerJob(jobId: string): Promise<Obj>;
  pauseJob(jobId: string, note?: string): Promise<Obj>;
  resumeJob(jobId: string, note?: string): Promise<Obj>;
  getRun(runId: string): Promise<Obj>;
  listRuns(jobId: string, status?: string): Promise<Obj[]>;
  listDeadLetters(jobId: string, includeRedriven?: boolean): Promise<Obj[]>;
  redrive(runId: string, version?: "original" | "current"): Promise<Obj>;
  /** GetJob with `recent_runs` (REST: `?recent_runs=`); absent: the server's default. */
  getJobWith(jobId: string, recentRuns?: number): Promise<Obj>;
  /** GetJobStatus (REST: `GET /jobs/{id}/status`). */
  getJobStatus(jobId: string): Promise<Obj>;
  /** TriggerJob with `wait` written as given (REST: `?wait=`, Connect: in the JSON). */
  triggerWait(jobId: string, wait: string): Promise<Obj>;
  /** ListRuns with any request fields (REST: query parameters); the whole response. */
  listRunsPage(query: Obj): Promise<Obj>;
  /** ListDeadLetters with any request fields; the whole response. */
  listDeadLettersPage(query: Obj): Promise<Obj>;
  /** ListJobs with any request fields; the whole response. */
  listJobsPage(query: Obj): Promise<Obj>;
  /** DeleteJob with purge_runs. */
  deleteJobPurging(jobId: string): Promise<Obj>;
  /** AddTask; the job. */
  addTask(jobId: string, task: Obj): Promise<Obj>;
  /** UpdateTask; the job. */
  updateTask(jobId: string, task: Obj): Promise<Obj>;
  /** GetClusterStatus. */
  clusterStatus(): Promise<Obj>;
}

/** The ApiError a call fails with; throws when it succeeds or fails otherwise. */
export async function errorOf(call: Promise<unknown>): Promise<ApiError> {
  try {
    await call;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error("the call succeeded");
}

/** Reads until `ok` holds, every 50 ms; fails showing the last value after `timeoutMs`. */
export async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`still ${JSON.stringify(v).slice(0, 400)} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A driver for a node's base URL over the given protocol. */
export function apiDriver(protocol: Protocol, baseUrl: string): ApiDriver {
  return protocol === "rest" ? restDriver(baseUrl) : connectDriver(baseUrl);
}

const ENUM_PREFIX = /^(JOB_STATUS|CONCURRENCY_POLICY|MISFIRE_POLICY|RETRY_ON|RUN_TRIGGER|RUN_STATUS)_/;

/** Normalises a REST or proto JSON value into the driver's answer shape. */
function normal(value: unknown, key = ""): any {
  if (Array.isArray(value)) return value.map((v) => normal(v, key));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normal(v, k)]));
  if (typeof value === "string" && ENUM_PREFIX.test(value)) return value.replace(ENUM_PREFIX, "").toLowerCase();
  if (typeof value === "string" && /(_at|^triggered_at)$/.test(key) && /^\d{4}-\d\d-\d\dT/.test(value)) return Date.parse(value);
  if (typeof value === "string" && /^-?\d+$/.test(value) && /(version|_ms|_count|count|_size|^running|total)$/.test(key)) return Number(value);
  return value;
}

async function restCall(baseUrl: string, method: string, path: string, body?: unknown): Promise<Obj> {
  const res = await rest(baseUrl, method, path, body);
  if (res.status >= 400) throw new ApiError(res.body.code, res.body.field ?? "", res.body.message);
  return normal(res.body);
}

function restDriver(baseUrl: string): ApiDriver {
  const call = (method: string, path: string, body?: unknown) => restCall(baseUrl, method, path, body);
  const jobPath = (id: string) => `/api/v1/cron/jobs/${encodeURIComponent(id)}`;
  return {
    protocol: "rest",
    createJob: (job) => call("POST", "/api/v1/cron/jobs", toProtoJson(job)),
    getJob: (id) => call("GET", jobPath(id)),
    patchJob: (id, fields) => call("PATCH", jobPath(id), toProtoJson(fields)),
    putJob: (job) => call("PUT", jobPath(job.job_id), toProtoJson(job)),
    deleteJob: (id) => call("DELETE", jobPath(id)),
    triggerJob: async (id) => normal(await call("POST", `${jobPath(id)}/trigger`, {})),
    pauseJob: (id, note = "") => call("POST", `${jobPath(id)}/pause`, { note }),
    resumeJob: (id, note = "") => call("POST", `${jobPath(id)}/resume`, { note }),
    getRun: (id) => call("GET", `/api/v1/cron/runs/${id}`),
    listRuns: async (id, status) => (await call("GET", `${jobPath(id)}/runs?page_size=100${status ? `&status=${status}` : ""}`)).runs,
    listDeadLetters: async (id, all = false) =>
      (await call("GET", `/api/v1/cron/dead-letters?job_id=${encodeURIComponent(id)}&page_size=100${all ? "&include_redriven=true" : ""}`)).runs,
    redrive: (id, version) => call("POST", `/api/v1/cron/dead-letters/${id}/redrive`, version ? { version: `REDRIVE_VERSION_${version.toUpperCase()}` } : {}),
    getJobWith: (id, n) => call("GET", `${jobPath(id)}${n === undefined ? "" : `?recent_runs=${n}`}`),
    getJobStatus: (id) => call("GET", `${jobPath(id)}/status`),
    triggerWait: (id, wait) => call("POST", `${jobPath(id)}/trigger?wait=${encodeURIComponent(wait)}`, {}),
    listRunsPage: (q) => call("GET", `/api/v1/cron/runs${queryOf(q)}`),
    listDeadLettersPage: (q) => call("GET", `/api/v1/cron/dead-letters${queryOf(q)}`),
    listJobsPage: (q) => call("GET", `/api/v1/cron/jobs${queryOf(q)}`),
    deleteJobPurging: (id) => call("DELETE", `${jobPath(id)}?purge_runs=true`),
    addTask: (id, task) => call("POST", `${jobPath(id)}/tasks`, task).then((r) => r.job ?? r),
    updateTask: (id, task) => call("PUT", `${jobPath(id)}/tasks/${encodeURIComponent(task.task_id)}`, task).then((r) => r.job ?? r),
    clusterStatus: () => call("GET", "/api/v1/cron/cluster/status"),
  };
}

/** A query string of flat request fields (omitting undefined). */
function queryOf(q: Obj): string {
  const entries = Object.entries(q)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`);
  return entries.length > 0 ? `?${entries.join("&")}` : "";
}

/** A Connect unary call with the request as JSON text (as a caller writes it), its answer in the driver's shape. */
async function connectJson(baseUrl: string, rpc: string, output: DescMessage, request: Obj): Promise<Obj> {
  const res = await rpcJson(baseUrl, "connect-post", rpc, request);
  if (res.code !== "ok") throw new ApiError(res.code, res.field, res.message);
  return normal(toJson(output, fromJson(output, res.body as JsonValue), { useProtoFieldName: true, alwaysEmitImplicit: true }));
}

function connectDriver(baseUrl: string): ApiDriver {
  const c = clientsFor(baseUrl);
  const raw = (rpc: string, output: DescMessage, request: Obj) => connectJson(baseUrl, `cronmesh.v1.${rpc}`, output, request);
  const json = (schema: DescMessage, m: unknown) => normal(toJson(schema, m as never, { useProtoFieldName: true }));
  const job = (j: Job | undefined) => json(JobSchema, j);
  const run = (r: Run | undefined) => json(RunSchema, r);
  const asJob = (o: Obj) => fromJson(JobSchema, toProtoJson(o));
  const wrap = async <T>(p: Promise<T>): Promise<T> => {
    try {
      return await p;
    } catch (err) {
      const ce = ConnectError.from(err);
      throw new ApiError(codeToString(ce.code), ce.metadata.get(FIELD_METADATA_KEY) ?? "", ce.rawMessage);
    }
  };
  return {
    protocol: "connect",
    // Jobs are written as JSON text, as a Connect caller writes them: the server reads it (Go-style durations and all).
    createJob: async (j) => (await raw("CronService/CreateJob", CreateJobResponseSchema, { job: toProtoJson(j) })).job,
    getJob: async (id) => job((await wrap(c.cron.getJob({ jobId: id }))).job),
    patchJob: async (id, fields) => (await raw("CronService/UpdateJob", UpdateJobResponseSchema, { job: toProtoJson({ ...fields, job_id: id }) })).job,
    putJob: async (j) => job((await wrap(c.cron.updateJob({ job: asJob(j) }))).job),
    deleteJob: async (id) => normal(toJsonObject(await wrap(c.cron.deleteJob({ jobId: id })))),
    triggerJob: async (id) => {
      const r = await wrap(c.cron.triggerJob({ jobId: id }));
      return { job_id: r.jobId, run_id: r.runId, lock_acquired: r.lockAcquired, run: run(r.run) };
    },
    pauseJob: async (id, note = "") => job((await wrap(c.cron.pauseJob({ jobId: id, note }))).job),
    resumeJob: async (id, note = "") => job((await wrap(c.cron.resumeJob({ jobId: id, note }))).job),
    getRun: async (id) => run((await wrap(c.runs.getRun({ runId: id }))).run),
    listRuns: async (id, status) =>
      (
        await wrap(
          c.runs.listRuns({ jobId: id, pageSize: 100, status: status ? fromJson(RunSchema, { status: `RUN_STATUS_${status.toUpperCase()}` }).status : 0 }),
        )
      ).runs.map(run),
    listDeadLetters: async (id, all = false) => (await wrap(c.runs.listDeadLetters({ jobId: id, pageSize: 100, includeRedriven: all }))).runs.map(run),
    redrive: async (id, version) => {
      const v = version === "original" ? RedriveVersion.ORIGINAL : version === "current" ? RedriveVersion.CURRENT : RedriveVersion.UNSPECIFIED;
      const r = await wrap(c.runs.redriveRun({ runId: id, version: v }));
      return { run: run(r.run), redrive_of: r.redriveOf };
    },
    getJobWith: async (id, n) => (await raw("CronService/GetJob", GetJobResponseSchema, { job_id: id, ...(n === undefined ? {} : { recent_runs: n }) })).job,
    getJobStatus: (id) => raw("CronService/GetJobStatus", GetJobStatusResponseSchema, { job_id: id }),
    triggerWait: (id, wait) => raw("CronService/TriggerJob", TriggerJobResponseSchema, { job_id: id, wait }),
    listRunsPage: (q) => raw("RunService/ListRuns", ListRunsResponseSchema, q),
    listDeadLettersPage: (q) => raw("RunService/ListDeadLetters", ListDeadLettersResponseSchema, q),
    listJobsPage: (q) => raw("CronService/ListJobs", ListJobsResponseSchema, q),
    deleteJobPurging: (id) => raw("CronService/DeleteJob", DeleteJobResponseSchema, { job_id: id, purge_runs: true }),
    addTask: async (id, task) => (await raw("CronService/AddTask", AddTaskResponseSchema, { job_id: id, task })).job,
    updateTask: async (id, task) => (await raw("CronService/UpdateTask", UpdateTaskResponseSchema, { job_id: id, task })).job,
    clusterStatus: () => raw("CronService/GetClusterStatus", GetClusterStatusResponseSchema, {}),
  };
}

/**
 * The driver's answer shape back to proto JSON: enum names in full, times as RFC 3339, output-only
 * noise kept. Inside runs (a job's recent_runs), `status` and `trigger` are run enums.
 */
function toProtoJson(o: Obj): JsonValue {
  const jobEnums: Record<string, string> = {
    status: "JOB_STATUS",
    concurrency_policy: "CONCURRENCY_POLICY",
    misfire_policy: "MISFIRE_POLICY",
    retry_on: "RETRY_ON",
    last_run_status: "RUN_STATUS",
  };
  const runEnums: Record<string, string> = { status: "RUN_STATUS", trigger: "RUN_TRIGGER" };
  const walk = (v: unknown, key: string, enums: Record<string, string>): JsonValue => {
    if (v === null || v === undefined) return null;
    if (Array.isArray(v)) return v.map((x) => walk(x, key, enums));
    if (typeof v === "object") {
      const inner = key === "recent_runs" || key === "task_results" ? runEnums : enums;
      return Object.fromEntries(
        Object.entries(v)
          .filter(([, x]) => x !== null && x !== undefined)
          .map(([k, x]) => [k, walk(x, k, inner)]),
      );
    }
    if (typeof v === "string" && enums[key] && !v.startsWith(enums[key]!)) return `${enums[key]}_${v.toUpperCase()}`;
    if (typeof v === "number" && /_at$/.test(key)) return new Date(v).toISOString();
    return v as JsonValue;
  };
  return walk(o, "", jobEnums);
}

function toJsonObject(o: object): Obj {
  return Object.fromEntries(
    Object.entries(o)
      .filter(([k]) => k !== "$typeName")
      .map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]),
  );
}
