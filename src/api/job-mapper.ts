import { create } from "@bufbuild/protobuf";
import {
  AuthSchema,
  HttpTargetSchema,
  JobSchema,
  JobVersionSchema,
  RetryPolicySchema,
  TaskSchema,
  type Auth,
  type HttpTarget,
  type Job,
  type JobVersion,
  type Task,
} from "../../gen/cronmesh/v1/job_pb.js";
import { CronError } from "../domain/cron-error.js";
import type { AuthSpec, HttpTargetSpec, JobRecord, JobSpec, JobVersionRecord, RetrySpec, TaskSpec } from "../domain/job.js";
import { isCredentialHeader, isInlineSecret, mapSecrets } from "../domain/job-secrets.js";
import { concurrencyPolicy, jobStatus, misfirePolicy, retryOn, runStatus } from "./enums.js";
import { durationOf, durationToMs, msOf, tsOf } from "./time.js";

/** What an inline secret looks like in every API response. References (`secret://…`) are shown. */
export const REDACTED = "[redacted]";

/** The spec part of a proto Job (output-only fields are ignored). */
export function specFromProto(job: Job): JobSpec {
  return {
    projectId: job.projectId,
    name: job.name,
    description: job.description,
    tags: { ...job.tags },
    schedule: job.schedule,
    runAt: msOf(job.runAt),
    timezone: job.timezone,
    startAt: msOf(job.startAt),
    endAt: msOf(job.endAt),
    concurrencyPolicy: concurrencyPolicy.toDomain(job.concurrencyPolicy),
    misfirePolicy: misfirePolicy.toDomain(job.misfirePolicy),
    catchupWindowMs: durationToMs(job.catchupWindow, "catchup_window"),
    startDeadlineMs: durationToMs(job.startDeadline, "start_deadline") || undefined,
    maxJitterMs: durationToMs(job.maxJitter, "max_jitter"),
    handler: job.handler,
    target: job.target && targetFromProto(job.target, "target"),
    retry: retryFromProto(job),
    tasks: job.tasks.map((t, i) => taskFromProto(t, `tasks[${i}]`)),
    historyLimit: job.historyLimit,
  };
}

function retryFromProto(job: Job): RetrySpec {
  const r = job.retry ?? create(RetryPolicySchema);
  return {
    maxAttempts: r.maxAttempts,
    initialBackoffMs: durationToMs(r.initialBackoff, "retry.initial_backoff"),
    maxBackoffMs: durationToMs(r.maxBackoff, "retry.max_backoff"),
    multiplier: r.multiplier,
    retryOn: retryOn.toDomain(r.retryOn),
  };
}

/** A domain task from its proto form; `field` prefixes error paths. */
export function taskFromProto(t: Task, field: string): TaskSpec {
  return {
    taskId: t.taskId,
    name: t.name,
    dependsOn: [...t.dependsOn],
    target: t.target && targetFromProto(t.target, `${field}.target`),
    handler: t.handler,
  };
}

function targetFromProto(t: HttpTarget, field: string): HttpTargetSpec {
  return {
    url: t.url,
    method: t.method,
    headers: { ...t.headers },
    body: t.body,
    timeoutMs: durationToMs(t.timeout, `${field}.timeout`),
    successCodes: [...t.successCodes],
    auth: t.auth && authFromProto(t.auth),
    followRedirects: t.followRedirects,
    ...(t.responseExcerptBytes ? { responseExcerptBytes: t.responseExcerptBytes } : {}),
  };
}

function authFromProto(a: Auth): AuthSpec | undefined {
  switch (a.kind.case) {
    case "basic":
      return { kind: "basic", username: a.kind.value.username, password: a.kind.value.password };
    case "bearer":
      return { kind: "bearer", token: a.kind.value.token };
    case "apiKey":
      return { kind: "api_key", key: a.kind.value.key, header: a.kind.value.header };
    case "serviceToken":
      return { kind: "service_token", token: a.kind.value.token, header: a.kind.value.header };
    default:
      return undefined;
  }
}

/** The proto form of a stored job. Inline secrets are redacted unless `reveal` is set. */
export function jobToProto(job: JobRecord, extras: { lockAcquired?: boolean; reveal?: boolean } = {}): Job {
  const s = job.spec;
  return create(JobSchema, {
    jobId: job.jobId,
    ...specToProtoFields(s, extras.reveal ?? false),
    status: jobStatus.toProto(job.status),
    enabled: job.status === "active",
    pauseNote: job.pauseNote,
    version: BigInt(job.version),
    createdAt: tsOf(job.createdAt),
    createdBy: job.createdBy,
    updatedAt: tsOf(job.updatedAt),
    updatedBy: job.updatedBy,
    nextTriggerAt: tsOf(job.nextTriggerAt),
    lastTriggeredAt: tsOf(job.stats.lastTriggeredAt),
    lastRunDurationMs: BigInt(job.stats.lastRunDurationMs ?? 0),
    runCount: BigInt(job.stats.runCount),
    failCount: BigInt(job.stats.failCount),
    skippedCount: BigInt(job.stats.skippedCount),
    droppedCount: BigInt(job.stats.droppedCount),
    lockAcquired: extras.lockAcquired ?? false,
    lastRunStatus: job.stats.lastRunStatus ? runStatus.toProto(job.stats.lastRunStatus) : 0,
  });
}

/**
 * The state of each frozen spec's job lately listed, and its shared proto once listed twice in
 * that state (see {@link sharedJobProto}): a hundred pages of 20, a few MB with their encodings;
 * the oldest entry goes first. Bounded here, not by the specs' lives: the scheduler keeps specs
 * of many jobs.
 */
const SHARED_PROTOS = 2048;
const sharedProtos = new Map<JobSpec, { state: string; job?: Job }>();

/**
 * The proto form of a stored job (secrets redacted) as listings answer it: shared and frozen once
 * the job is listed a second time in the same state, so that it is encoded once (see
 * `shared-encodings.ts`) while the job does not change. A job read from the embedded store has a
 * frozen spec, shared between reads of the same document; its state is kept beside it: every
 * other input of {@link jobToProto} (status, stats, next trigger, lock). A job whose state
 * differs is rendered anew, so that its proto can never go stale. A job without a frozen spec is
 * rendered each time.
 *
 * - Not on the first listing: a proto kept lives long enough to be copied by the young
 *   collector, which costs a job listed once (pages walked through) as much as rendering it.
 * - Only the message itself is frozen, which also marks it as shared: its parts are not changed
 *   by anyone either (an answer is read only, once its handler returned it), and freezing each
 *   of them would cost more than encoding the job.
 */
export function sharedJobProto(job: JobRecord, lockAcquired: boolean): Job {
  if (!Object.isFrozen(job.spec)) return jobToProto(job, { lockAcquired });
  const state = renderedState(job, lockAcquired);
  const kept = sharedProtos.get(job.spec);
  if (kept?.state !== state) {
    if (!kept && sharedProtos.size >= SHARED_PROTOS) sharedProtos.delete(sharedProtos.keys().next().value!);
    sharedProtos.set(job.spec, { state });
    return jobToProto(job, { lockAcquired });
  }
  return (kept.job ??= Object.freeze(jobToProto(job, { lockAcquired })));
}

/** Every input of {@link jobToProto} but the spec itself, as one string. */
function renderedState(job: JobRecord, lockAcquired: boolean): string {
  const s = job.stats;
  return JSON.stringify([
    job.jobId,
    job.status,
    job.pauseNote,
    job.version,
    job.createdAt,
    job.createdBy,
    job.updatedAt,
    job.updatedBy,
    job.nextTriggerAt ?? null,
    s.lastTriggeredAt ?? null,
    s.lastRunDurationMs ?? null,
    s.runCount,
    s.failCount,
    s.skippedCount,
    s.droppedCount,
    s.lastRunStatus ?? null,
    lockAcquired,
  ]);
}

function specToProtoFields(s: JobSpec, reveal: boolean) {
  return {
    projectId: s.projectId,
    name: s.name,
    description: s.description,
    tags: s.tags,
    schedule: s.schedule,
    runAt: tsOf(s.runAt),
    timezone: s.timezone,
    startAt: tsOf(s.startAt),
    endAt: tsOf(s.endAt),
    concurrencyPolicy: concurrencyPolicy.toProto(s.concurrencyPolicy),
    misfirePolicy: misfirePolicy.toProto(s.misfirePolicy),
    catchupWindow: durationOf(s.catchupWindowMs),
    startDeadline: durationOf(s.startDeadlineMs ?? 0),
    maxJitter: durationOf(s.maxJitterMs),
    handler: s.handler,
    target: s.target && targetToProto(s.target, reveal),
    retry: create(RetryPolicySchema, {
      maxAttempts: s.retry.maxAttempts,
      initialBackoff: durationOf(s.retry.initialBackoffMs),
      maxBackoff: durationOf(s.retry.maxBackoffMs),
      multiplier: s.retry.multiplier,
      retryOn: retryOn.toProto(s.retry.retryOn),
    }),
    tasks: s.tasks.map((t) => taskToProto(t, reveal)),
    historyLimit: s.historyLimit,
  };
}

/** The proto form of a task, secrets redacted unless `reveal`. */
export function taskToProto(t: TaskSpec, reveal = false): Task {
  return create(TaskSchema, {
    taskId: t.taskId,
    name: t.name,
    dependsOn: t.dependsOn,
    target: t.target && targetToProto(t.target, reveal),
    handler: t.handler,
  });
}

function secret(value: string, reveal: boolean): string {
  return reveal || !isInlineSecret(value) ? value : REDACTED;
}

function targetToProto(t: HttpTargetSpec, reveal: boolean): HttpTarget {
  const headers = Object.fromEntries(Object.entries(t.headers).map(([k, v]) => [k, isCredentialHeader(k) ? secret(v, reveal) : v]));
  return create(HttpTargetSchema, {
    url: t.url,
    method: t.method,
    headers,
    body: t.body,
    timeout: durationOf(t.timeoutMs),
    successCodes: t.successCodes,
    auth: t.auth && authToProto(t.auth, reveal),
    followRedirects: t.followRedirects === true,
    responseExcerptBytes: t.responseExcerptBytes ?? 0,
  });
}

function authToProto(a: AuthSpec, reveal: boolean): Auth {
  switch (a.kind) {
    case "basic":
      return create(AuthSchema, { kind: { case: "basic", value: { username: a.username, password: secret(a.password, reveal) } } });
    case "bearer":
      return create(AuthSchema, { kind: { case: "bearer", value: { token: secret(a.token, reveal) } } });
    case "api_key":
      return create(AuthSchema, { kind: { case: "apiKey", value: { key: secret(a.key, reveal), header: a.header } } });
    case "service_token":
      return create(AuthSchema, { kind: { case: "serviceToken", value: { token: secret(a.token, reveal), header: a.header } } });
  }
}

/** The proto form of a version snapshot (secrets redacted). */
export function versionToProto(v: JobVersionRecord): JobVersion {
  return create(JobVersionSchema, {
    jobId: v.jobId,
    version: BigInt(v.version),
    config: create(JobSchema, {
      jobId: v.jobId,
      ...specToProtoFields(v.spec, false),
      status: jobStatus.toProto(v.status),
      enabled: v.status === "active",
      version: BigInt(v.version),
    }),
    createdAt: tsOf(v.createdAt),
    createdBy: v.createdBy,
    reason: v.reason,
  });
}

/** The unredacted proto Job of a record: the base a field-masked update is applied to. */
export function revealedJob(job: JobRecord): Job {
  return jobToProto(job, { reveal: true });
}

/**
 * Replaces secrets sent back as the redaction marker (a read-modify-write of a job) with the
 * stored value at the same place; fails naming the field when there is none.
 */
export function restoreRedactedSecrets(next: JobSpec, current: JobSpec): JobSpec {
  const stored = new Map<string, string>();
  mapSecrets(current, (v, field) => (stored.set(field, v), v));
  return mapSecrets(next, (v, field) => {
    if (v !== REDACTED) return v;
    const kept = stored.get(field);
    if (kept === undefined) throw CronError.invalid(field, `send the secret itself or a secret:// reference, not ${REDACTED}`);
    return kept;
  });
}
