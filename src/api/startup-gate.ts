import type { Interceptor } from "@connectrpc/connect";
import { CronError } from "../domain/cron-error.js";

/**
 * Refuses calls with `unavailable` until start-up has finished (the store initialised, the
 * cluster joined), except to the services in `exempt` (health and reflection). The port is open
 * during start-up so that liveness and readiness probes get an answer; the cronmesh services must
 * not run before their store is ready (a MongoDB store's unique indexes, for one).
 */
export function startupGate(started: () => boolean, exempt: ReadonlySet<string>): Interceptor {
  return (next) => async (req) => {
    if (!started() && !exempt.has(req.service.typeName)) throw new CronError("unavailable", "starting: not serving yet, try again shortly");
    return next(req);
  };
}
