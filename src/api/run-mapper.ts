import { create } from "@bufbuild/protobuf";
import { AttemptSchema, RunSchema, TaskResultSchema, type Attempt, type Run } from "../../gen/cronmesh/v1/run_pb.js";
import { finalAttempt, retryCount, type AttemptRecord, type RunRecord } from "../domain/run.js";
import { runStatus, runTrigger } from "./enums.js";
import { tsOf } from "./time.js";

/** The proto form of a stored run. */
export function runToProto(run: RunRecord): Run {
  const last = finalAttempt(run);
  return create(RunSchema, {
    runId: run.runId,
    jobId: run.jobId,
    jobVersion: BigInt(run.jobVersion),
    projectId: run.projectId,
    scheduledAt: tsOf(run.scheduledAt),
    dueAt: tsOf(run.dueAt),
    trigger: runTrigger.toProto(run.trigger),
    status: runStatus.toProto(run.status),
    attempts: run.attempts.map(attemptToProto),
    startedAt: tsOf(run.startedAt),
    finishedAt: tsOf(run.finishedAt),
    durationMs: BigInt(run.durationMs ?? 0),
    result: run.result,
    error: run.error,
    nodeId: run.nodeId,
    traceId: run.traceId,
    replayOf: run.replayOf,
    redriveOf: run.redriveOf,
    taskResults: run.taskResults.map((t) =>
      create(TaskResultSchema, {
        taskId: t.taskId,
        status: runStatus.toProto(t.status),
        attempts: t.attempts.map(attemptToProto),
        startedAt: tsOf(t.startedAt),
        finishedAt: tsOf(t.finishedAt),
        error: t.error,
      }),
    ),
    createdAt: tsOf(run.createdAt),
    updatedAt: tsOf(run.updatedAt),
    deadLetteredAt: tsOf(run.deadLetteredAt),
    redrivenAt: tsOf(run.redrivenAt),
    redrivenByRunId: run.redrivenByRunId ?? "",
    jobName: run.jobName ?? "",
    statusCode: last?.statusCode ?? 0,
    responseExcerpt: last?.responseExcerpt ?? "",
    retryCount: retryCount(run),
  });
}

function attemptToProto(a: AttemptRecord): Attempt {
  return create(AttemptSchema, {
    number: a.number,
    startedAt: tsOf(a.startedAt),
    finishedAt: tsOf(a.finishedAt),
    statusCode: a.statusCode,
    error: a.error,
    responseExcerpt: a.responseExcerpt,
    durationMs: BigInt(a.durationMs),
  });
}
