import { Code, ConnectError, createConnectRouter, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip, universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import type http from "node:http";
import type http2 from "node:http2";
import type { Logger } from "pino";
import { STRICT_JSON_OPTIONS, strictJsonHandler } from "./strict-json.js";

type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse | http2.Http2ServerResponse;

/** Options of {@link createRpcHandler}. */
export interface RpcHandlerOptions {
  routes: (router: ConnectRouter) => void;
  interceptors: Interceptor[];
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
 * REST routes, and the JSON codecs refuse unknown fields.
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
  return (req, res) => {
    const handler = paths.get((req.url ?? "").split("?", 1)[0]!);
    if (!handler) return options.fallback(req, res);
    handler(universalRequestFromNodeRequest(req as never, res as never, undefined, undefined))
      .then((uRes) => universalResponseToNodeResponse(uRes, res as never))
      .catch((reason: unknown) => {
        // Aborted means the client went away: nothing to answer and nothing wrong.
        if (ConnectError.from(reason).code === Code.Aborted) return;
        options.log.error({ err: reason, rpc: handler.method.name }, "rpc handler failed");
        // The caller must not wait forever: a 500 if nothing was sent yet, else the stream is cut.
        if (res.headersSent) res.destroy();
        else res.writeHead(500, { "content-type": "application/json" }).end('{"code":"internal","message":"internal error"}');
      });
  };
}
