import { Code, ConnectError } from "@connectrpc/connect";
import type http from "node:http";
import type http2 from "node:http2";

/** A request as node's HTTP/1.1 and HTTP/2 servers hand it over (the port serves both). */
export type Req = http.IncomingMessage | http2.Http2ServerRequest;
/** The response to a {@link Req}. */
export type Res = http.ServerResponse | http2.Http2ServerResponse;

/** Responses from this size on are compressed when the caller accepts it, as connect's default. */
export const COMPRESS_MIN_BYTES = 1024;

/** The request's path, without its query. */
export function pathOf(req: Req): string {
  const url = req.url ?? "";
  const q = url.indexOf("?");
  return q < 0 ? url : url.slice(0, q);
}

/** The request headers as the interceptors and handlers read them (HTTP/2 pseudo-headers left out), as connect-node reads them. */
export function headersOf(req: Req): Headers {
  const header = new Headers();
  for (const [key, value] of Object.entries(req.headers)) {
    if (key.startsWith(":") || value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) header.append(key, v);
    else header.append(key, String(value));
  }
  return header;
}

/** One request header (`name` in lower case, as node names them), repeated values joined; null when absent. */
export function headerValue(req: Req, name: string): string | null {
  const value = req.headers[name];
  return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
}

/** The request's URL as connect's handler context gives it. */
export function urlOf(req: Req): string {
  const authority = "authority" in req ? req.authority : req.headers.host;
  return `http://${authority ?? "localhost"}${req.url ?? "/"}`;
}

/** Fetch headers as the plain object `writeHead` takes. */
export function nodeHeaders(header: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  header.forEach((value, key) => (out[key] = value));
  return out;
}

/**
 * The call's abort signal, made on first use (most calls never ask for it): aborted when the
 * caller goes away before the answer (Aborted), or after `timeoutMs` when given
 * (DeadlineExceeded, as connect's handler context).
 */
export function callSignal(res: Res, timeoutMs?: number): () => AbortSignal {
  let controller: AbortController | undefined;
  return () => {
    if (controller) return controller.signal;
    const made = (controller = new AbortController());
    if (res.writableFinished) return made.signal;
    const timer =
      timeoutMs === undefined ? undefined : setTimeout(() => made.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded)), timeoutMs);
    res.once("close", () => {
      clearTimeout(timer);
      if (!res.writableFinished) made.abort(new ConnectError("the client went away", Code.Aborted));
    });
    return made.signal;
  };
}
