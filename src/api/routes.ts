import type { ConnectRouter, Interceptor, ServiceImpl } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { Metrics } from "../telemetry/metrics.js";
import { rpcMetricsInterceptor } from "../telemetry/rpc-metrics-interceptor.js";
import { CronService } from "../../gen/cronmesh/v1/cron_service_pb.js";
import { RunService } from "../../gen/cronmesh/v1/run_service_pb.js";
import { errorInterceptor } from "./error-interceptor.js";
import { tracingInterceptor } from "./tracing-interceptor.js";

/** The services served, for the REST transcoder and any reflection. */
export const SERVICES = [CronService, RunService];

/**
 * Every interceptor, outermost first; the same list serves the port and the REST transport.
 * Tracing sits inside metrics and outside the error mapping, so its span sees the final code.
 * `access` (authentication, then rate limiting) runs innermost: refusals are traced and counted.
 */
export function interceptorsFor(metrics: Metrics, now: () => number, log: Logger, access: Interceptor[]): Interceptor[] {
  return [rpcMetricsInterceptor(metrics, now), tracingInterceptor(log), errorInterceptor, ...access];
}

/** The one place where services are registered on a router. */
export function registerRoutes(cron: ServiceImpl<typeof CronService>, runs: ServiceImpl<typeof RunService>) {
  return (router: ConnectRouter) => {
    router.service(CronService, cron);
    router.service(RunService, runs);
  };
}
