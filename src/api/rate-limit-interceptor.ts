import type { Interceptor } from "@connectrpc/connect";
import type { RateLimiter } from "../auth/rate-limiter.js";
import { CronError } from "../domain/cron-error.js";
import { IDENTITY } from "./auth-interceptor.js";
import { toConnectError } from "./error-codes.js";

/** Response header telling a limited caller how many seconds to wait (RFC 9110). */
export const RETRY_AFTER = "retry-after";

/**
 * Limits each identity's calls with its own token bucket (`RATE_LIMIT_RPS`). Over the limit:
 * ResourceExhausted (HTTP 429) with `Retry-After` in whole seconds. Runs after the authentication
 * interceptor; calls it let through unauthenticated (open services) are not counted.
 */
export function rateLimitInterceptor(limiter: RateLimiter): Interceptor {
  return (next) => async (req) => {
    const identity = req.contextValues.get(IDENTITY);
    if (!identity) return next(req);
    const waitMs = limiter.take(`${identity.authMode}\n${identity.projectId}\n${identity.subject}`);
    if (waitMs > 0) {
      const error = toConnectError(new CronError("resource_exhausted", `rate limit exceeded: retry in ${Math.ceil(waitMs / 1000)} s`));
      error.metadata.set(RETRY_AFTER, String(Math.ceil(waitMs / 1000)));
      throw error;
    }
    return next(req);
  };
}
