/** A token bucket's rate: `rps` tokens a second, holding at most `burst`. */
export interface Rate {
  rps: number;
  burst: number;
}

/** One caller's bucket: tokens left as of `at` (epoch ms). */
export interface Bucket {
  tokens: number;
  at: number;
}

/** The outcome of one call against a bucket: the bucket after it, and 0 if allowed or how long until a token is there. */
export interface Take {
  bucket: Bucket;
  waitMs: number;
}

/**
 * Takes one token from a bucket (a new caller's bucket is full), after refilling it for the time
 * since it was last seen. Pure: the caller keeps the bucket and supplies `now`.
 */
export function takeToken(bucket: Bucket | undefined, now: number, rate: Rate): Take {
  const elapsed = bucket ? Math.max(0, now - bucket.at) : 0;
  const tokens = bucket ? Math.min(rate.burst, bucket.tokens + (elapsed * rate.rps) / 1000) : rate.burst;
  if (tokens >= 1) return { bucket: { tokens: tokens - 1, at: now }, waitMs: 0 };
  return { bucket: { tokens, at: now }, waitMs: Math.ceil(((1 - tokens) * 1000) / rate.rps) };
}

/** Per-caller token buckets. */
export interface RateLimiter {
  /** Counts one call of `key`: 0 when allowed, else the milliseconds until the caller may call again. */
  take(key: string): number;
}

/**
 * Callers tracked at once. Beyond it the least recently seen caller's bucket is forgotten (it
 * comes back full): only authenticated callers get buckets, so this bounds memory, not fairness.
 */
const MAX_BUCKETS = 10_000;

/** Token buckets per key (an identity), on the given clock. */
export function createRateLimiter(rate: Rate, now: () => number): RateLimiter {
  const buckets = new Map<string, Bucket>();
  return {
    take(key) {
      const { bucket, waitMs } = takeToken(buckets.get(key), now(), rate);
      // Re-inserted so that the Map's order is least recently seen first.
      buckets.delete(key);
      if (buckets.size >= MAX_BUCKETS) buckets.delete(buckets.keys().next().value!);
      buckets.set(key, bucket);
      return waitMs;
    },
  };
}
