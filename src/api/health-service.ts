import type { ServiceImpl } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/health/v1/health_pb.js";
import type { ReadinessView } from "../app/readiness-monitor.js";
import { CronError } from "../domain/cron-error.js";
import type { Readiness } from "../domain/readiness.js";

/** The serving status that a readiness answer means. */
function servingStatus(readiness: Readiness): ServingStatus {
  return readiness.ready ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
}

/**
 * Streams a service's status: the current one at once, then each change, until the caller goes
 * away or the node stops (after its NOT_SERVING, so that a stopping server is not held open).
 * An unknown service gets SERVICE_UNKNOWN and an open stream, as the health protocol says.
 */
async function* watchStatus(readiness: ReadinessView, known: boolean, signal: AbortSignal): AsyncGenerator<{ status: ServingStatus }> {
  let wake: (() => void) | undefined;
  // Set by a change that came while the stream was not waiting, so it is not missed.
  let changed = false;
  const poke = () => {
    changed = true;
    wake?.();
  };
  const off = readiness.onChange(poke);
  signal.addEventListener("abort", poke);
  try {
    let sent: ServingStatus | undefined;
    while (!signal.aborted) {
      changed = false;
      const now = readiness.current();
      const status = known ? servingStatus(now) : ServingStatus.SERVICE_UNKNOWN;
      if (status !== sent) yield { status: (sent = status) };
      if (now.phase === "stopping") return;
      if (!changed) await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    off();
    signal.removeEventListener("abort", poke);
  }
}

/**
 * Creates `grpc.health.v1.Health` over the node's readiness. Every name in `services` (the empty
 * name meaning the whole server) reports SERVING while the node is ready, NOT_SERVING otherwise:
 * every cronmesh service needs the same store and, in cluster mode, etcd. Check answers from the
 * last probe round, so probing it costs nothing; an unknown name is NOT_FOUND.
 */
export function createHealthService(readiness: ReadinessView, services: readonly string[]): ServiceImpl<typeof Health> {
  const known = new Set(services);
  return {
    check(req) {
      if (!known.has(req.service)) throw CronError.notFound("service", req.service);
      return { status: servingStatus(readiness.current()) };
    },
    watch: (req, ctx) => watchStatus(readiness, known.has(req.service), ctx.signal),
    list() {
      const status = servingStatus(readiness.current());
      return { statuses: Object.fromEntries(services.map((name) => [name, { status }])) };
    },
  };
}
