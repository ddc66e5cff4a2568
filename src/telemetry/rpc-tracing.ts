import { Code, ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { context, createContextKey, SpanKind, type Attributes } from "@opentelemetry/api";
import { ATTR } from "./attributes.js";
import { contextOfHeaders, type SpanOptions } from "./spans.js";

/** `rpc.system` of a call: gRPC and gRPC-Web are `grpc`, Connect (and REST, served through Connect) `connect_rpc`. */
export type RpcSystem = "grpc" | "connect_rpc";

/** The REST binding a call came through, carried from the REST handler to the interceptor. */
interface HttpRoute {
  route: string;
  verb: string;
}

const HTTP_ROUTE = createContextKey("cronmesh.http_route");

/** Runs a REST call with its route template known to the RPC span made for it. */
export function withHttpRoute<T>(route: string, verb: string, fn: () => Promise<T>): Promise<T> {
  return context.with(context.active().setValue(HTTP_ROUTE, { route, verb } satisfies HttpRoute), fn);
}

/** The server span of one RPC: named `package.Service/Method`, parented on the caller's trace context. */
export interface RpcSpan {
  name: string;
  system: RpcSystem;
  options: SpanOptions;
}

/**
 * Describes the SERVER span of an RPC from its service, method and request headers: the RPC
 * semantic-convention attributes, the route for REST calls, and the caller's `traceparent` as
 * the parent, so the caller's trace continues here.
 */
export function rpcSpanOf(service: string, method: string, header: Headers): RpcSpan {
  const system: RpcSystem = header.get("content-type")?.startsWith("application/grpc") ? "grpc" : "connect_rpc";
  const attributes = (): Attributes => {
    const rest = context.active().getValue(HTTP_ROUTE) as HttpRoute | undefined;
    const base = { [ATTR.rpcSystem]: system, [ATTR.rpcService]: service, [ATTR.rpcMethod]: method };
    return rest ? { ...base, [ATTR.httpRoute]: rest.route, [ATTR.httpRequestMethod]: rest.verb } : base;
  };
  return {
    name: `${service}/${method}`,
    system,
    options: { kind: SpanKind.SERVER, attributes, parent: contextOfHeaders(header), isError: (err) => isServerFault(ConnectError.from(err).code) },
  };
}

/** The status attribute of a finished RPC, named as the RPC conventions name it for its system. */
export function rpcCodeAttributes(system: RpcSystem, code: Code | undefined): Attributes {
  if (system === "grpc") return { [ATTR.rpcGrpcStatusCode]: code ?? 0 };
  return code === undefined ? {} : { [ATTR.rpcConnectErrorCode]: codeToString(code) };
}

/** Codes that are the server's fault and mark a server span as failed (as the gRPC conventions say). */
const SERVER_FAULTS = new Set([Code.Unknown, Code.DeadlineExceeded, Code.Unimplemented, Code.Internal, Code.Unavailable, Code.DataLoss]);

/** True for codes that are the server's fault, not the caller's. */
export function isServerFault(code: Code): boolean {
  return SERVER_FAULTS.has(code);
}
