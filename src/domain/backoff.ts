/**
 * Retries of one run: how long to wait before the next attempt, and whether to make it.
 *
 * The delay before attempt `n + 1` is `min(max_backoff, initial_backoff × multiplier^(n − 1))`.
 * A failed attempt is retried only while attempts remain (`n < max_attempts`), never after a
 * success or a cancel, and according to `retry_on`: `none` never retries; `on_failure` retries
 * transient failures — no response (network error), a timeout, 408, 425, 429 and any 5xx;
 * `always` retries every unsuccessful attempt, other 4xx included.
 */
import type { RetrySpec } from "./job.js";
import type { AttemptRecord } from "./run.js";

/** What the retry decision needs to know about a finished attempt. */
export interface AttemptOutcome {
  ok: boolean;
  /** 0 when no response came (connection error, timeout). */
  statusCode: number;
  timedOut: boolean;
  cancelled: boolean;
}

/**
 * 4xx statuses that say "try again later": 408 Request Timeout, 425 Too Early and
 * 429 Too Many Requests. Every other 4xx says the request itself is wrong.
 */
const RETRYABLE_4XX = new Set([408, 425, 429]);
/** 5xx: the server failed, the request may succeed later. */
const SERVER_ERRORS = { from: 500, to: 599 } as const;

/**
 * Delay before attempt `attempt + 1`: initial × multiplier^(attempt − 1), capped at max_backoff.
 * Deterministic (no random jitter), so a run's timeline can be predicted and tested.
 */
export function retryDelayMs(retry: RetrySpec, attempt: number): number {
  const raw = retry.initialBackoffMs * Math.pow(retry.multiplier, Math.max(0, attempt - 1));
  return Math.min(retry.maxBackoffMs, Math.round(raw));
}

/**
 * Whether a failed attempt is retried. Never after a success, a cancel, or the last allowed
 * attempt. `none` never retries; `on_failure` retries transient failures — no response, a
 * timeout, 408, 425, 429 and 5xx; `always` retries every unsuccessful attempt, other 4xx included.
 */
export function shouldRetry(retry: RetrySpec, attempt: number, outcome: AttemptOutcome): boolean {
  if (outcome.ok || outcome.cancelled || attempt >= retry.maxAttempts) return false;
  switch (retry.retryOn) {
    case "none":
      return false;
    case "always":
      return true;
    case "on_failure":
      return isTransient(outcome);
  }
}

/** No response (status 0), a timeout, a retryable 4xx or a 5xx. */
function isTransient({ statusCode, timedOut }: AttemptOutcome): boolean {
  const serverError = statusCode >= SERVER_ERRORS.from && statusCode <= SERVER_ERRORS.to;
  return timedOut || statusCode === 0 || serverError || RETRYABLE_4XX.has(statusCode);
}

/** Where the attempts of a run resume when it executes again (see {@link resumeAttempts}). */
export interface AttemptsResume {
  /** The number of the next attempt: after every recorded one. */
  next: number;
  /** Recorded attempts that count against `max_attempts`: all but the interrupted ones. */
  counted: number;
  /** Set when no attempt is to be made: the outcome of the last counted attempt. */
  done?: { ok: boolean; error: string };
}

/**
 * Where a run's attempts resume, from the attempts recorded by an earlier execution of it (a
 * node that shut down recorded the attempt it cut short; one that died left its last progress
 * checkpoint). The next attempt is numbered after all of them, so a target never sees an attempt
 * number twice from recorded attempts. Interrupted attempts do not count against `max_attempts`
 * (the node, not the target, ended them), so a run of one attempt interrupted by a restart still
 * gets its one real answer. Nothing more is sent when the last counted attempt succeeded, or when
 * the counted attempts already reached `max_attempts` (only the final write was lost).
 */
export function resumeAttempts(prior: readonly AttemptRecord[], retry: RetrySpec): AttemptsResume {
  const counted = prior.filter((a) => !a.interrupted);
  const next = prior.reduce((max, a) => Math.max(max, a.number), 0) + 1;
  const last = counted[counted.length - 1];
  if (last && (last.error === "" || counted.length >= retry.maxAttempts)) {
    return { next, counted: counted.length, done: { ok: last.error === "", error: last.error } };
  }
  return { next, counted: counted.length };
}
