import type { CancelSignal } from "../domain/cancellation.js";
import { CronError } from "../domain/cron-error.js";
import type { HttpTargetSpec } from "../domain/job.js";
import type { AttemptRecord } from "../domain/run.js";
import type { HttpClient } from "./http-client.js";
import { buildRequest, redactCredentials, type AttemptContext } from "./outgoing-request.js";
import type { SecretSource } from "./secrets.js";
import { traceAttempt } from "../telemetry/attempt-tracing.js";

/** An attempt as recorded on the run, plus what the retry decision needs. */
export interface AttemptOutcome {
  record: AttemptRecord;
  ok: boolean;
  timedOut: boolean;
  cancelled: boolean;
  /** A configuration problem (missing secret) or an address the outbound policy refuses: retrying cannot help. */
  permanent: boolean;
}

/** Everything one HTTP attempt needs. */
export interface TargetExecutorDeps {
  http: HttpClient;
  secrets: SecretSource;
  now: () => number;
}

/** 2xx when the target lists no success codes. */
function isSuccess(target: HttpTargetSpec, status: number): boolean {
  return target.successCodes.length > 0 ? target.successCodes.includes(status) : status >= 200 && status < 300;
}

/** Performs one attempt against an HTTP target, inside its CLIENT span, and describes it; never throws. */
export function executeAttempt(deps: TargetExecutorDeps, target: HttpTargetSpec, ctx: AttemptContext, signal: CancelSignal): Promise<AttemptOutcome> {
  return traceAttempt(target, ctx, (traced) => attempt(deps, target, traced, signal));
}

async function attempt(deps: TargetExecutorDeps, target: HttpTargetSpec, ctx: AttemptContext, signal: CancelSignal): Promise<AttemptOutcome> {
  let request;
  try {
    request = buildRequest(target, ctx, deps.secrets);
  } catch (err) {
    const now = deps.now();
    const error = err instanceof CronError ? err.message : String(err);
    const record = { number: ctx.attempt, startedAt: now, finishedAt: now, statusCode: 0, error, responseExcerpt: "", durationMs: 0 };
    return { record, ok: false, timedOut: false, cancelled: false, permanent: true };
  }
  const res = await deps.http.send(request, signal);
  const ok = res.statusCode > 0 && isSuccess(target, res.statusCode);
  const error = ok ? "" : `${res.error || `HTTP ${res.statusCode}`}${afterRedirects(res.redirects)}`;
  const record: AttemptRecord = {
    number: ctx.attempt,
    startedAt: res.startedAt,
    finishedAt: res.finishedAt,
    statusCode: res.statusCode,
    error,
    // A target that echoes the request (its headers, its body) must not leak its credentials into run records.
    responseExcerpt: redactCredentials(res.responseExcerpt, request.credentials),
    durationMs: res.finishedAt - res.startedAt,
  };
  // The policy will refuse the same address again: no retry.
  return { record, ok, timedOut: res.timedOut, cancelled: res.cancelled, permanent: res.refused };
}

/** Says how the answer (or failure) was reached when redirects were followed. */
function afterRedirects(count: number): string {
  if (count === 0) return "";
  return ` after ${count} redirect${count === 1 ? "" : "s"}`;
}
