import { Code, ConnectError, createConnectRouter, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip, universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import type { Logger } from "pino";
import { createConnectUnary } from "./connect-unary.js";
import { createGrpcUnary } from "./grpc-unary.js";
import { pathOf, type Req, type Res } from "./node-call.js";
import { STRICT_JSON_OPTIONS, strictJsonHandler } from "./strict-json.js";
import type { UnaryInvokers } from "./unary-invoker.js";

/** Options of {@link createRpcHandler}. */
export interface RpcHandlerOptions {
  routes: (router: ConnectRouter) => void;
  interceptors: Interceptor[];
  /** The unary RPCs of `routes` with the same interceptors: Connect unary POSTs are served through them. */
  invokers: UnaryInvokers;
  readMaxBytes: number;
  /** Serves requests for paths that are no RPC. */
  fallback: (req: Req, res: Res) => void;
  log: Logger;
}

/** The request compressions accepted (those connect-node accepts by default). */
const COMPRESSIONS = [compressionGzip, compressionBrotli];

/**
 * Serves gRPC, gRPC-Web and Connect for the routes, as connect-node's adapter does, with every
 * handler wrapped by {@link strictJsonHandler}: JSON requests are read by the same rules as the
 * REST routes, and the JSON codecs refuse unknown fields. Connect unary POSTs and gRPC unary
 * calls, most calls, take the shorter ways of {@link createConnectUnary} and
 * {@link createGrpcUnary} to the same interceptors and handlers.
 */
export function createRpcHandler(options: RpcHandlerOptions): (req: Req, res: Res) => void {
  const router = createConnectRouter({
    interceptors: options.interceptors,
    readMaxBytes: options.readMaxBytes,
    acceptCompression: COMPRESSIONS,
    jsonOptions: STRICT_JSON_OPTIONS,
  });
  options.routes(router);
  const strict = { readMaxBytes: options.readMaxBytes, compressions: COMPRESSIONS };
  const paths = new Map<string, UniversalHandler>(router.handlers.map((h) => [h.requestPath, strictJsonHandler(h, strict)]));
  const unary = createConnectUnary({
    invokers: options.invokers,
    readMaxBytes: options.readMaxBytes,
    compressions: COMPRESSIONS,
    onFailure: (reason, rpc, res) => failed(options.log, reason, rpc, res),
  });
  const routed = (req: Req, res: Res, body?: AsyncIterable<Uint8Array>) => {
    const handler = paths.get(pathOf(req));
    if (!handler) return options.fallback(req, res);
    const uReq = universalRequestFromNodeRequest(req as never, res as never, undefined, undefined);
    handler(body ? { ...uReq, body } : uReq)
      .then((uRes) => universalResponseToNodeResponse(uRes, res as never))
      .catch((reason: unknown) => failed(options.log, reason, handler.method.name, res));
  };
  const grpc = createGrpcUnary({
    invokers: options.invokers,
    readMaxBytes: options.readMaxBytes,
    compressions: COMPRESSIONS,
    fallback: routed,
    onFailure: (reason, rpc, res) => failed(options.log, reason, rpc, res),
  });
  return (req, res) => {
    if (unary(req, res) || grpc(req, res)) return;
    routed(req, res);
  };
}

/** A call that failed outside its handler's answer: logged, and the caller never left waiting. */
function failed(log: Logger, reason: unknown, rpc: string, res: Res): void {
  // Aborted means the client went away: nothing to answer and nothing wrong.
  if (ConnectError.from(reason).code === Code.Aborted) return;
  log.error({ err: reason, rpc }, "rpc handler failed");
  // The caller must not wait forever: a 500 if nothing was sent yet, else the stream is cut.
  if (res.headersSent) res.destroy();
  else res.writeHead(500, { "content-type": "application/json" }).end('{"code":"internal","message":"internal error"}');
}
