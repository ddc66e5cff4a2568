import { createRouterTransport, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { Logger } from "pino";
import { createRestHandler, writeJson } from "./rest/rest-handler.js";
import { createStreamAdmission } from "./rest/stream-admission.js";
import type { ReadinessView } from "../app/readiness-monitor.js";
import type { Readiness } from "../domain/readiness.js";
import type { Metrics } from "../telemetry/metrics.js";
import { interceptorsFor, SERVICES } from "./routes.js";
import { createRpcHandler } from "./rpc-handler.js";
import { createUnaryInvokers } from "./unary-invoker.js";
import { createCors } from "./cors.js";
import { pathOf, type Req, type Res } from "./node-call.js";
import { createStaticAssets } from "./static-assets.js";

/** 1 MiB: the largest request body on any protocol. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** The REST routes live under this path. */
const REST_PREFIX = "/api/";
/** The HTTP/2 connection preface starts with these bytes; no HTTP/1.1 method does. */
const H2_PREFACE = "PRI";

/** Options of {@link startServer}. */
export interface ServerOptions {
  host: string;
  port: number;
  routes: (router: ConnectRouter) => void;
  /** Wall time for the health answer, from the injected clock. */
  now: () => number;
  metrics: Metrics;
  /** RPC log lines (written inside each RPC's span). */
  log: Logger;
  /** The built web console, served at /ui/. */
  consoleDir: string;
  /** Origins allowed to call from a browser; `*` allows any. */
  corsOrigins: string[];
  /** Authentication and rate limiting, applied to every RPC on every protocol. */
  access: Interceptor[];
  /** The node's readiness: `/ready`, and the gate that holds cronmesh calls until start-up ends. */
  readiness: ReadinessView;
}

/** A running server. */
export interface RunningServer {
  port: number;
  /** Stops accepting, lets in-flight requests finish for up to `graceMs`, then drops connections. */
  close(graceMs: number): Promise<void>;
}

/**
 * Serves Connect, gRPC, gRPC-Web and the REST routes on one port. Each connection is routed by
 * its first bytes: the HTTP/2 preface goes to an http2 server (gRPC needs it, Connect may use
 * it), anything else to an HTTP/1.1 server; both share one request handler.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const handler = createRequestHandler(options);
  const h1 = http.createServer(handler);
  const h2 = http2.createServer({}, handler);
  const sockets = new Set<net.Socket>();
  const listener = net.createServer((socket) => {
    // Small writes (gRPC trailers after a message) must not wait for the peer's delayed ACK. The
    // http servers would set this themselves, but they are handed the connection, not accepting it.
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    routeConnection(socket, h1, h2);
  });
  await new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(options.port, options.host, () => resolve());
  });
  const port = (listener.address() as net.AddressInfo).port;
  return { port, close: (graceMs) => closeAll(listener, h1, h2, sockets, graceMs) };
}

function routeConnection(socket: net.Socket, h1: http.Server, h2: http2.Http2Server): void {
  let head = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    head = Buffer.concat([head, chunk]);
    if (head.length < H2_PREFACE.length) return;
    socket.off("data", onData);
    // The bytes read are put back into the socket's buffer, which both servers read first: the
    // http2 session then consumes the native handle directly (a session over a JS stream wrapper
    // pays a JS round trip per read and write, more than a small call's own work).
    socket.pause();
    socket.unshift(head);
    if (head.toString("latin1", 0, 3) === H2_PREFACE) {
      h2.emit("connection", socket);
      return;
    }
    h1.emit("connection", socket);
    socket.resume();
  };
  socket.on("data", onData);
}

function createRequestHandler(options: ServerOptions) {
  const started = () => options.readiness.current().phase !== "starting";
  const interceptors = interceptorsFor(options.metrics, options.now, options.log, started, options.access);
  const invokers = createUnaryInvokers(options.routes, interceptors);
  const connect = createRpcHandler({
    routes: options.routes,
    interceptors,
    invokers,
    readMaxBytes: MAX_BODY_BYTES,
    fallback: (_req, res) => writeJson(res, 404, { code: "not_found", message: "no such route", field: "" }),
    log: options.log,
  });
  const admission = createStreamAdmission();
  const transport = createRouterTransport(options.routes, { router: { interceptors: [...interceptors, admission.interceptor], readMaxBytes: MAX_BODY_BYTES } });
  const rest = createRestHandler({ services: SERVICES, invokers, transport, maxBodyBytes: MAX_BODY_BYTES, prefix: REST_PREFIX, admission });
  const cors = createCors(options.corsOrigins);
  const assets = createStaticAssets(options.consoleDir);
  return (req: Req, res: Res) => {
    if (cors(req, res) || assets(req, res)) return;
    const path = pathOf(req);
    if (path === "/health" || path === "/healthz") {
      writeJson(res, 200, { status: "healthy", timestamp: new Date(options.now()).toISOString() });
      return;
    }
    if (path === "/ready") {
      const readiness = options.readiness.current();
      writeJson(res, readiness.ready ? 200 : 503, readinessBody(readiness));
      return;
    }
    if (path === "/metrics") {
      void options.metrics.render().then(
        ({ contentType, body }) => {
          res.writeHead(200, { "content-type": contentType });
          res.end(body);
        },
        (err: unknown) => writeJson(res, 500, { code: "internal", message: `metrics: ${(err as Error).message}`, field: "" }),
      );
      return;
    }
    // A unary RPC's own path is never a REST route (none is under the prefix, nor becomes one as
    // a URL): served at once, without the REST handler's URL parse first. Every other path is
    // offered to the REST routes, then to the RPCs.
    if (invokers.has(path)) {
      try {
        connect(req, res);
      } catch (err) {
        lastResort(options.log, res, err);
      }
      return;
    }
    rest(req, res)
      .then((handled) => {
        if (!handled) connect(req, res);
      })
      .catch((err: unknown) => lastResort(options.log, res, err));
  };
}

/** The `/ready` answer: `ready`, or `not_ready` with the reason; the state of every check either way. */
function readinessBody(readiness: Readiness): { status: string; reason?: string; checks: Record<string, string> } {
  if (readiness.ready) return { status: "ready", checks: readiness.checks };
  return { status: "not_ready", reason: readiness.reason!, checks: readiness.checks };
}

/** A failure no handler answered: logged, and answered 500 (a bug, never bad input) rather than left to crash the process. */
function lastResort(log: Logger, res: http.ServerResponse | http2.Http2ServerResponse, err: unknown): void {
  log.error({ err }, "request handler failed");
  if (res.headersSent) res.destroy();
  else writeJson(res, 500, { code: "internal", message: "internal error", field: "" });
}

async function closeAll(listener: net.Server, h1: http.Server, h2: http2.Http2Server, sockets: Set<net.Socket>, graceMs: number) {
  const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
  h1.close();
  h1.closeIdleConnections();
  h2.close();
  const deadline = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
  await Promise.race([Promise.all([closed, new Promise<void>((r) => h1.once("close", () => r()))]), deadline]);
  for (const s of sockets) s.destroy();
  await closed;
}
