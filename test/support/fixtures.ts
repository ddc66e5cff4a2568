import { DEFAULT_HISTORY_LIMIT, emptyStats, type JobRecord, type JobSpec } from "../../src/domain/job.js";
import { slotKeyFor, type RunRecord } from "../../src/domain/run.js";

/** A fixed anchor so that stored times are predictable. */
export const T0 = Date.parse("2026-03-01T00:00:00.000Z");

/** A valid job spec with every field filled. */
export function makeSpec(overrides: Partial<JobSpec> = {}): JobSpec {
  return {
    projectId: "p_1",
    name: "daily-invoice",
    description: "Sends the invoices",
    tags: { team: "billing", env: "prod" },
    schedule: "0 9 * * *",
    timezone: "Europe/Belgrade",
    concurrencyPolicy: "forbid",
    misfirePolicy: "skip",
    catchupWindowMs: 3_600_000,
    maxJitterMs: 1000,
    handler: "",
    target: {
      url: "http://127.0.0.1:9/invoice",
      method: "POST",
      headers: { "X-Job": "invoice" },
      body: '{"mode":"daily"}',
      timeoutMs: 5000,
      successCodes: [200, 201],
      auth: { kind: "service_token", token: "secret://invoice-token", header: "X-Service-Token" },
    },
    retry: { maxAttempts: 5, initialBackoffMs: 500, maxBackoffMs: 60_000, multiplier: 2, retryOn: "on_failure" },
    tasks: [
      { taskId: "extract", name: "Extract", dependsOn: [], handler: "extract" },
      { taskId: "load", name: "Load", dependsOn: ["extract"], handler: "load" },
    ],
    historyLimit: DEFAULT_HISTORY_LIMIT,
    ...overrides,
  };
}

/** A version-1 job record. */
export function makeJob(jobId: string, overrides: Partial<JobRecord> = {}, spec: Partial<JobSpec> = {}): JobRecord {
  return {
    jobId,
    spec: makeSpec(spec),
    status: "active",
    pauseNote: "",
    version: 1,
    createdAt: T0,
    createdBy: "alice",
    updatedAt: T0,
    updatedBy: "alice",
    changeReason: "create",
    nextTriggerAt: T0 + 60_000,
    stats: emptyStats(),
    ...overrides,
  };
}

/** A queued schedule-triggered run for a slot. */
export function makeRun(runId: string, jobId: string, scheduledAt: number, overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    runId,
    jobId,
    jobVersion: 1,
    projectId: "p_1",
    slotKey: slotKeyFor(scheduledAt),
    scheduledAt,
    dueAt: scheduledAt + 10,
    trigger: "schedule",
    status: "queued",
    attempts: [],
    result: "",
    error: "",
    nodeId: "",
    traceId: "",
    replayOf: "",
    redriveOf: "",
    taskResults: [],
    createdAt: scheduledAt,
    updatedAt: scheduledAt,
    revision: 1,
    ...overrides,
  };
}
