import { resumeAttempts, retryDelayMs, shouldRetry } from "../domain/backoff.js";
import type { CancelSignal } from "../domain/cancellation.js";
import type { Clock } from "../domain/clock.js";
import type { HttpTargetSpec, RetrySpec } from "../domain/job.js";
import { ATTEMPT_INTERRUPTED, type AttemptRecord } from "../domain/run.js";
import { executeAttempt, type TargetExecutorDeps } from "./target-executor.js";
import type { AttemptContext } from "./outgoing-request.js";

/** The final outcome of all attempts at one target. */
export interface AttemptsResult {
  ok: boolean;
  cancelled: boolean;
  attempts: AttemptRecord[];
  error: string;
}

/** What the loop needs besides the target. */
export interface AttemptLoopDeps extends TargetExecutorDeps {
  clock: Clock;
}

/**
 * Calls a target until it succeeds, the retry policy gives up, or `signal` aborts (a cancel or a
 * replace). `onAttempt` sees every finished attempt, so the run shows progress as it goes.
 * `prior` are the attempts recorded by an earlier execution of the run: the loop resumes after
 * them (see {@link resumeAttempts}). An attempt cut short by an interrupting signal (the node
 * shutting down) is recorded as interrupted and does not count against `max_attempts`.
 */
export async function runAttempts(
  deps: AttemptLoopDeps,
  target: HttpTargetSpec,
  retry: RetrySpec,
  ctx: Omit<AttemptContext, "attempt">,
  signal: CancelSignal,
  onAttempt: (attempts: AttemptRecord[]) => void | Promise<void>,
  prior: readonly AttemptRecord[] = [],
): Promise<AttemptsResult> {
  const attempts = [...prior];
  const resume = resumeAttempts(prior, retry);
  if (resume.done) return { ...resume.done, cancelled: false, attempts };
  let counted = resume.counted;
  for (let n = resume.next; ; n++) {
    // A run drained (its job paused) starts no new attempt, not even its first.
    if (signal.draining) return { ok: false, cancelled: true, attempts, error: "" };
    const outcome = await executeAttempt(deps, target, { ...ctx, attempt: n }, signal);
    const interrupted = outcome.cancelled && signal.interrupted === true;
    attempts.push(interrupted ? { ...outcome.record, error: ATTEMPT_INTERRUPTED, interrupted } : outcome.record);
    if (!interrupted) counted++;
    const recorded = onAttempt(attempts);
    if (recorded) await recorded;
    if (outcome.ok) return { ok: true, cancelled: false, attempts, error: "" };
    const cancelled = outcome.cancelled || signal.cancelled;
    const statusCode = outcome.record.statusCode;
    const retry_ = !outcome.permanent && shouldRetry(retry, counted, { ok: false, statusCode, timedOut: outcome.timedOut, cancelled });
    const error = attempts[attempts.length - 1]!.error;
    // Out of retries it is a failure; a retry that a cancel or a drain stopped is cancelled.
    if (!retry_) return { ok: false, cancelled: cancelled || signal.cancelled, attempts, error };
    if (!(await sleep(deps.clock, retryDelayMs(retry, counted), signal))) return { ok: false, cancelled: true, attempts, error };
  }
}

/** Waits on the injected clock; resolves false at once when the signal drains or aborts. */
function sleep(clock: Clock, ms: number, signal: CancelSignal): Promise<boolean> {
  if (signal.draining) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = clock.setTimer(ms, () => {
      unsubscribe();
      resolve(true);
    });
    const unsubscribe = signal.onDrain(() => {
      timer.cancel();
      resolve(false);
    });
  });
}
