import { createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { CronService } from "../../gen/cronmesh/v1/cron_service_pb.js";
import { RunService } from "../../gen/cronmesh/v1/run_service_pb.js";

/** The wire protocols the CLI speaks: Connect (HTTP/1.1) or gRPC (HTTP/2). */
export const PROTOCOLS = ["connect", "grpc"] as const;
/** One of {@link PROTOCOLS}. */
export type Protocol = (typeof PROTOCOLS)[number];

/** Where and how to call the service. */
export interface ClientOptions {
  /** Base URL, e.g. http://localhost:8080. */
  server: string;
  protocol: Protocol;
  /** Sent as `Authorization: Bearer <token>` when non-empty (a JWT or an API key). */
  token?: string;
  /** Deadline of each unary call; streams have none. */
  timeoutMs: number;
}

/** Typed clients of both services; `watch` is the run client without a deadline, for streams. */
export interface ApiClients {
  cron: Client<typeof CronService>;
  runs: Client<typeof RunService>;
  watch: Client<typeof RunService>;
}

/** Adds the bearer token to every call. */
function bearer(token: string): Interceptor {
  return (next) => async (req) => {
    req.header.set("Authorization", `Bearer ${token}`);
    return next(req);
  };
}

function transport(options: ClientOptions, defaultTimeoutMs: number | undefined): Transport {
  const interceptors = options.token ? [bearer(options.token)] : [];
  const common = { baseUrl: options.server, interceptors, defaultTimeoutMs };
  return options.protocol === "grpc" ? createGrpcTransport(common) : createConnectTransport({ ...common, httpVersion: "1.1" });
}

/** Creates the clients of one invocation. */
export function createApiClients(options: ClientOptions): ApiClients {
  const unary = transport(options, options.timeoutMs);
  return {
    cron: createClient(CronService, unary),
    runs: createClient(RunService, unary),
    watch: createClient(RunService, transport(options, undefined)),
  };
}
