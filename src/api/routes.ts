import type { ConnectRouter, Interceptor, ServiceImpl } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { Metrics } from "../telemetry/metrics.js";
import { rpcMetricsInterceptor } from "../telemetry/rpc-metrics-interceptor.js";
import { CronService } from "../../gen/cronmesh/v1/cron_service_pb.js";
import { RunService } from "../../gen/cronmesh/v1/run_service_pb.js";
import { ServerReflection as ReflectionV1 } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ReflectionV1alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { Health } from "../../gen/health/v1/health_pb.js";
import { errorInterceptor } from "./error-interceptor.js";
import { createReflectionServices } from "./reflection-service.js";
import { startupGate } from "./startup-gate.js";
import { tracingInterceptor } from "./tracing-interceptor.js";

/** The cronmesh services, for the REST transcoder and any reflection. */
export const SERVICES = [CronService, RunService];

/**
 * Services about the server rather than cron: health and reflection. They answer while the node
 * starts (the cronmesh services wait for start-up to finish), and probes call them without
 * credentials.
 */
export const OPERATIONAL_SERVICES = [Health, ReflectionV1, ReflectionV1alpha];

/** The names the health service reports on: the whole server (""), then each cronmesh service. */
export const HEALTH_NAMES = ["", ...SERVICES.map((s) => s.typeName)];

/**
 * Every interceptor, outermost first; the same list serves the port and the REST transport.
 * Tracing sits inside metrics and outside the error mapping, so its span sees the final code; the
 * start-up gate sits inside the error mapping, which turns its refusal into Unavailable. `access`
 * (authentication, then rate limiting) runs innermost: refusals are traced and counted.
 */
export function interceptorsFor(metrics: Metrics, now: () => number, log: Logger, started: () => boolean, access: Interceptor[]): Interceptor[] {
  const exempt = new Set(OPERATIONAL_SERVICES.map((s) => s.typeName));
  return [rpcMetricsInterceptor(metrics, now), tracingInterceptor(log), errorInterceptor, startupGate(started, exempt), ...access];
}

/** The one place where services are registered on a router. */
export function registerRoutes(cron: ServiceImpl<typeof CronService>, runs: ServiceImpl<typeof RunService>, health: ServiceImpl<typeof Health>) {
  const reflection = createReflectionServices([...SERVICES, ...OPERATIONAL_SERVICES]);
  return (router: ConnectRouter) => {
    router.service(CronService, cron);
    router.service(RunService, runs);
    router.service(Health, health);
    router.service(ReflectionV1, reflection.v1);
    router.service(ReflectionV1alpha, reflection.v1alpha);
  };
}
