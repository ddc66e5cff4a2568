import { toJson, type DescMessage, type DescMethodServerStreaming, type DescService } from "@bufbuild/protobuf";
import type { StreamResponse, Transport } from "@connectrpc/connect";
import type { ServerResponse } from "node:http";
import type { Req, Res } from "../node-call.js";
import { buildRequestJson } from "./request-builder.js";
import { jsonText } from "../shared-encodings.js";
import { protoJsonToRest, REST_JSON, REST_WRITE_OPTIONS } from "./json-codec.js";
import { messageFromJson, normalizeJson, type Json } from "../json-input.js";
import { readBody } from "./body-reader.js";
import { restError, restErrorOf } from "./rest-errors.js";
import { matchPath } from "./path-template.js";
import { buildRoutes, type Route } from "./route-table.js";
import { withHttpRoute } from "../../telemetry/rpc-tracing.js";
import type { StreamTicket } from "./stream-admission.js";
import type { UnaryInvokers } from "../unary-invoker.js";

/** Request headers passed on to the RPC: credentials, identity and trace context, nothing transport-level. */
const FORWARDED_HEADERS = ["authorization", "x-api-key", "x-cronmesh-actor", "traceparent", "tracestate", "baggage"];

/** Options of {@link createRestHandler}. */
export interface RestHandlerOptions {
  services: DescService[];
  /** The unary RPCs, with the interceptors of every other protocol. */
  invokers: UnaryInvokers;
  /** An in-process transport to the same handlers, for the streaming RPCs, so interceptors apply to them too. */
  transport: Transport;
  /** Bodies above this size get 413. */
  maxBodyBytes: number;
  /** Only paths under this prefix are REST routes. */
  prefix: string;
  /** Tickets of streaming calls; its interceptor must be the innermost one of `transport`. */
  admission: { ticket(): StreamTicket };
}

/**
 * The REST transcoder: serves every `google.api.http` binding of the services as JSON over
 * HTTP/1.1 or HTTP/2. Returns false for paths outside the prefix so the caller can serve them.
 */
export function createRestHandler(options: RestHandlerOptions): (req: Req, res: Res) => Promise<boolean> {
  const routes = buildRoutes(options.services);
  return async (req, res) => {
    const url = new URL(req.url ?? "/", "http://local");
    if (!url.pathname.startsWith(options.prefix)) return false;
    try {
      const { route, vars } = findRoute(routes, req.method ?? "GET", url.pathname);
      const body = route.body ? await readBody(req, options.maxBodyBytes) : undefined;
      const input = parseInput(route, buildRequestJson(route, body, vars, url.searchParams));
      // The route template reaches the RPC span through the trace context (REST calls are in-process).
      await withHttpRoute(route.path, route.verb, () => callAndRespond(options, route, input, req, res));
    } catch (err) {
      // A stream already answered 200 reports its failures in its lines, or simply ends.
      if (res.headersSent) {
        res.end();
        return true;
      }
      const { status, body, headers } = isRestError(err) ? { ...err, headers: {} } : restErrorOf(err);
      writeJson(res, status, body as unknown as Json, headers);
    }
    return true;
  };
}

function isRestError(err: unknown): err is ReturnType<typeof restError> {
  return typeof err === "object" && err !== null && "status" in err && "body" in err;
}

function findRoute(routes: Route[], verb: string, path: string): { route: Route; vars: Map<string, string> } {
  let pathMatched = false;
  for (const route of routes) {
    const vars = matchPath(route.template, path);
    if (!vars) continue;
    pathMatched = true;
    if (route.verb === verb) return { route, vars };
  }
  throw pathMatched ? restError(405, "unimplemented", `method ${verb} is not allowed on ${path}`) : restError(404, "not_found", `no route for ${verb} ${path}`);
}

function parseInput(route: Route, json: Json) {
  return messageFromJson(route.method.input, normalizeJson(route.method.input, json, ""));
}

async function callAndRespond(options: RestHandlerOptions, route: Route, input: object, req: Req, res: Res): Promise<void> {
  const method = route.method;
  const header = forwardedHeaders(req);
  if (method.methodKind === "server_streaming") return streamNdjson(options.transport, options.admission.ticket(), route, input, header, res);
  const invoker = method.methodKind === "unary" ? options.invokers.get(`/${method.parent.typeName}/${method.name}`) : undefined;
  if (!invoker) throw restError(501, "unimplemented", `${method.name} is not a REST method`);
  const response = await invoker.invoke({ message: input as never, header, url: `http://local${req.url ?? "/"}`, requestMethod: "POST", protocolName: "rest" });
  if (!route.responseBody) return writeJsonText(res, 200, jsonText(REST_JSON, method.output, response.message));
  const json = toJson(method.output, response.message, REST_WRITE_OPTIONS) as Json;
  writeJson(res, 200, responseBodyOf(route, json));
}

/**
 * A server-streaming RPC over REST: newline-delimited JSON, one REST-shaped message per line,
 * until the client disconnects. A refusal before the RPC is admitted (credentials, role, rate) is
 * an ordinary error response; once admitted, headers go out at once (a watcher must see the
 * stream open before the first change), and a later failure is a final `{"error": {...}}` line.
 */
async function streamNdjson(transport: Transport, ticket: StreamTicket, route: Route, input: object, header: Headers, res: Res): Promise<void> {
  const abort = new AbortController();
  res.once("close", () => abort.abort());
  const method = route.method as DescMethodServerStreaming;
  header.set(...ticket.header);
  try {
    const call = transport.stream(method, abort.signal, undefined, header, singleMessage(input as Record<string, unknown>));
    await Promise.race([call, ticket.admitted]);
    // Answered before admission: a refusal, which reading the stream throws (as the error response).
    if (!ticket.isAdmitted()) await drain((await call).message);
    res.writeHead(200, { "content-type": "application/x-ndjson; charset=utf-8", "cache-control": "no-store" });
    if ("flushHeaders" in res) res.flushHeaders();
    await writeLines(await call, route, res, abort.signal);
  } finally {
    ticket.release();
  }
}

async function drain(messages: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of messages) continue;
}

async function writeLines(response: StreamResponse<DescMessage, DescMessage>, route: Route, res: Res, aborted: AbortSignal): Promise<void> {
  const writeLine = (value: unknown) => (res as ServerResponse).write(`${JSON.stringify(value)}\n`);
  try {
    for await (const message of response.message) {
      const json = toJson(route.method.output, message, REST_WRITE_OPTIONS) as Json;
      writeLine(responseBodyOf(route, json));
    }
  } catch (err) {
    if (!aborted.aborted) writeLine({ error: restErrorOf(err).body });
  }
  res.end();
}

async function* singleMessage<T>(message: T): AsyncIterable<T> {
  yield message;
}

function responseBodyOf(route: Route, json: Json): Json {
  const output = route.method.output;
  if (!route.responseBody) return protoJsonToRest(output, json);
  const field = output.fields.find((f) => f.name === route.responseBody);
  const value = (json as Record<string, Json>)[route.responseBody] ?? {};
  return field?.fieldKind === "message" ? protoJsonToRest(field.message, value) : value;
}

function forwardedHeaders(req: Req): Headers {
  const out = new Headers();
  for (const name of FORWARDED_HEADERS) {
    const v = req.headers[name];
    if (typeof v === "string") out.set(name, v);
  }
  return out;
}

/** Writes a JSON response with the given status (and extra headers). */
export function writeJson(res: Res, status: number, body: Json, headers: Record<string, string> = {}): void {
  writeJsonText(res, status, JSON.stringify(body), headers);
}

/** Writes a response of this JSON text. */
function writeJsonText(res: Res, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
