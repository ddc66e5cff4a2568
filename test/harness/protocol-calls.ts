import type { DescMethod, DescMethodServerStreaming, DescMethodUnary } from "@bufbuild/protobuf";
import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import { codeFromString } from "@connectrpc/connect/protocol-connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { SERVICES } from "../../src/api/routes.js";
import { buildRoutes, type Route } from "../../src/api/rest/route-table.js";

/** The protocols the auth tables call over. */
export type Protocol = "grpc" | "grpcweb" | "connect" | "rest";
/** The protocols of the tables: gRPC, Connect and REST (gRPC-Web shares Connect's handler; tables add it where it is cheap). */
export const PROTOCOLS: Protocol[] = ["grpc", "connect", "rest"];

/** Every RPC of the served services, read from their descriptors: a new RPC is covered by itself. */
export const ALL_METHODS: DescMethod[] = SERVICES.flatMap((s) => s.methods);

/** The outcome of one call: its code, message, and the headers (REST) or error metadata (gRPC, Connect). */
export interface CallResult {
  code: Code | "ok";
  message: string;
  headers: Headers;
  /** The response body as text (REST), or the JSON of the response message. */
  body: string;
}

/** A caller of any RPC by descriptor over one protocol; `input` is the request in proto JSON names. */
export type Caller = (method: DescMethod, headers: Record<string, string>, input?: Record<string, unknown>) => Promise<CallResult>;

/**
 * How long a stream that stays silent is given before it counts as admitted: a Connect server
 * sends a stream's headers with its first message, so an admitted watch with nothing to report
 * cannot be told from a refusal still on its way except by waiting. Refusals take milliseconds;
 * tables that expect one wait longer (`silentStreamMs`), so a slow machine cannot pass them by.
 */
const SILENT_STREAM_MS = 1500;

/** A caller for a node's base URL over the given protocol. */
export function callerFor(baseUrl: string, protocol: Protocol, options: { silentStreamMs?: number } = {}): Caller {
  if (protocol === "rest") return restCaller(baseUrl);
  const transport =
    protocol === "grpc"
      ? createGrpcTransport({ baseUrl })
      : protocol === "grpcweb"
        ? createGrpcWebTransport({ baseUrl, httpVersion: "1.1" })
        : createConnectTransport({ baseUrl, httpVersion: "1.1" });
  const silentMs = options.silentStreamMs ?? SILENT_STREAM_MS;
  return (method, headers, input = {}) =>
    method.methodKind === "server_streaming"
      ? streamCall(transport, method, headers, input, silentMs)
      : unaryCall(transport, method as DescMethodUnary, headers, input);
}

async function unaryCall(transport: Transport, method: DescMethodUnary, headers: Record<string, string>, input: object): Promise<CallResult> {
  try {
    const res = await transport.unary(method, undefined, 10_000, headers, input as never);
    return { code: "ok", message: "", headers: res.header, body: JSON.stringify(res.message, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)) };
  } catch (err) {
    return failed(err);
  }
}

async function streamCall(transport: Transport, method: DescMethod, headers: Record<string, string>, input: object, silentMs: number): Promise<CallResult> {
  const abort = new AbortController();
  const first = (async () => {
    const res = await transport.stream(
      method as DescMethodServerStreaming,
      abort.signal,
      undefined,
      headers,
      (async function* () {
        yield input as never;
      })(),
    );
    for await (const message of res.message) return { code: "ok" as const, message: "", headers: res.header, body: JSON.stringify(message) };
    return { code: "ok" as const, message: "", headers: res.header, body: "" };
  })();
  const silent = new Promise<CallResult>((resolve) => setTimeout(() => resolve({ code: "ok", message: "", headers: new Headers(), body: "" }), silentMs));
  try {
    return await Promise.race([first, silent]);
  } catch (err) {
    return failed(err);
  } finally {
    abort.abort();
    first.catch(() => undefined);
  }
}

function failed(err: unknown): CallResult {
  const e = ConnectError.from(err);
  return { code: e.code, message: e.rawMessage, headers: e.metadata, body: "" };
}

/** The REST bindings of each method, the primary one first. */
const ROUTES_OF = new Map<DescMethod, Route[]>();
for (const route of buildRoutes(SERVICES)) ROUTES_OF.set(route.method, [...(ROUTES_OF.get(route.method) ?? []), route]);
for (const [method, routes] of ROUTES_OF) ROUTES_OF.set(method, routes.reverse());

/** The binding of a method that the input fills: the first whose path variables it all has, else the primary one. */
function routeFor(method: DescMethod, input: Record<string, unknown>): Route | undefined {
  const routes = ROUTES_OF.get(method) ?? [];
  const filled = (route: Route) => [...route.path.matchAll(/\{([^}=.]+)/g)].every((m) => input[snakeToCamel(m[1]!)] !== undefined);
  return routes.find(filled) ?? routes[0];
}

/** The REST route of a method with its `{variables}` filled from the input (or "1", which every field type accepts). */
export function restPathOf(method: DescMethod, input: Record<string, unknown> = {}): { verb: string; path: string; body: boolean } {
  const route = routeFor(method, input);
  if (!route) throw new Error(`${method.name} has no REST binding`);
  const valueAt = (name: string) => {
    const [head, ...rest] = name.split(".").map(snakeToCamel);
    let v: unknown = input[head!];
    for (const key of rest) v = v && typeof v === "object" ? (v as Record<string, unknown>)[key] : undefined;
    return v ?? input[snakeToCamel(name.split(".").pop()!)];
  };
  const path = route.path.replace(/\{([^}=]+)(=[^}]*)?\}/g, (_m, name: string) => encodeURIComponent(String(valueAt(name) ?? "1")));
  if (route.body !== "" || route.verb !== "GET") return { verb: route.verb, path, body: route.body !== "" };
  // A GET carries the other fields in its query string.
  const bound = new Set([...route.path.matchAll(/\{([^}=.]+)/g)].map((m) => snakeToCamel(m[1]!)));
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(input)) if (!bound.has(key) && value !== undefined && typeof value !== "object") query.set(key, String(value));
  return { verb: route.verb, path: query.size > 0 ? `${path}?${query}` : path, body: false };
}

/**
 * The REST body of a method's input: the whole input (`body: "*"`) or the one field the route
 * binds, without the fields the path carries (a field set twice is refused).
 */
function restBodyOf(method: DescMethod, input: Record<string, unknown>): string {
  const route = routeFor(method, input)!;
  const field = route.body;
  const bound = [...route.path.matchAll(/\{([^}=]+)/g)].map((m) => m[1]!.split(".").map(snakeToCamel));
  const prefix = field === "*" ? [] : [snakeToCamel(field)];
  const body = structuredClone(field === "*" ? input : ((input[prefix[0]!] as Record<string, unknown> | undefined) ?? {}));
  for (const path of bound) {
    const rel = path.slice(0, prefix.length).join(".") === prefix.join(".") ? path.slice(prefix.length) : undefined;
    if (!rel || rel.length === 0) continue;
    let target: Record<string, unknown> | undefined = body;
    for (const key of rel.slice(0, -1)) target = target?.[key] as Record<string, unknown> | undefined;
    if (target) delete target[rel[rel.length - 1]!];
  }
  return JSON.stringify(body, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

function snakeToCamel(name: string): string {
  return name.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

function restCaller(baseUrl: string): Caller {
  return async (method, headers, input = {}) => {
    const { verb, path, body } = restPathOf(method, input);
    const abort = new AbortController();
    try {
      const res = await fetch(`${baseUrl}${path}`, {
        method: verb,
        headers: body ? { "content-type": "application/json", ...headers } : headers,
        body: body ? restBodyOf(method, input) : undefined,
        signal: abort.signal,
      });
      // A stream that answered 200 was admitted: its lines are not awaited.
      if (method.methodKind === "server_streaming" && res.status === 200) return { code: "ok", message: "", headers: res.headers, body: "" };
      const text = await res.text();
      if (res.status === 200) return { code: "ok", message: "", headers: res.headers, body: text };
      const json = JSON.parse(text) as { code: string; message: string };
      return { code: codeFromString(json.code) ?? Code.Unknown, message: json.message, headers: res.headers, body: text };
    } finally {
      abort.abort();
    }
  };
}
