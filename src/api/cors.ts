import { cors } from "@connectrpc/connect";
import type { Req, Res } from "./node-call.js";
import { ACTOR_HEADER } from "./actor.js";
import { FIELD_METADATA_KEY } from "./error-codes.js";

/** Connect's methods, plus the REST routes' verbs. */
export const CORS_ALLOWED_METHODS = [...new Set([...cors.allowedMethods, "PUT", "PATCH", "DELETE"])];
/** Connect's request headers, plus the credentials and the actor name cronmesh reads. */
export const CORS_ALLOWED_HEADERS = [...cors.allowedHeaders, "Authorization", ACTOR_HEADER];
/** Connect's response headers, plus the field named by an invalid-argument error. */
export const CORS_EXPOSED_HEADERS = [...cors.exposedHeaders, FIELD_METADATA_KEY];
/** Browsers cache a preflight at most this long (Chromium caps it at two hours). */
const PREFLIGHT_MAX_AGE_S = 7200;

/** What the CORS layer does with one request. */
export type CorsDecision =
  /** Not a cross-origin request this layer answers for: serve it without CORS headers. */
  | { kind: "none" }
  /** A preflight: answer it here with these status and headers. */
  | { kind: "preflight"; status: number; headers: Record<string, string> }
  /** An actual request from an allowed origin: serve it with these headers added. */
  | { kind: "actual"; headers: Record<string, string> };

/**
 * Decides a request's CORS answer from its method, its Origin and Access-Control-Request-Method
 * headers, and the allowed origins (`*` allows any). A preflight from an origin not allowed gets
 * 403 and no CORS headers, so the browser blocks the call; an actual request from such an origin
 * is served unchanged (browsers enforce CORS, and same-origin pages send an Origin too).
 */
export function decideCors(method: string, origin: string | undefined, requestMethod: string | undefined, allowed: readonly string[]): CorsDecision {
  if (!origin) return { kind: "none" };
  const ok = allowed.includes("*") || allowed.includes(origin);
  const vary = "Origin";
  if (method === "OPTIONS" && requestMethod) {
    if (!ok) return { kind: "preflight", status: 403, headers: { vary } };
    return {
      kind: "preflight",
      status: 204,
      headers: {
        "access-control-allow-origin": origin,
        "access-control-allow-methods": CORS_ALLOWED_METHODS.join(", "),
        "access-control-allow-headers": CORS_ALLOWED_HEADERS.join(", "),
        "access-control-max-age": String(PREFLIGHT_MAX_AGE_S),
        vary: "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
      },
    };
  }
  if (!ok) return { kind: "none" };
  return { kind: "actual", headers: { "access-control-allow-origin": origin, "access-control-expose-headers": CORS_EXPOSED_HEADERS.join(", "), vary } };
}

/**
 * The CORS layer in front of every route: answers preflights itself (returns true) and adds the
 * CORS headers to actual requests from allowed origins (returns false: the caller serves them).
 */
export function createCors(allowed: readonly string[]): (req: Req, res: Res) => boolean {
  return (req, res) => {
    const header = (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const decision = decideCors(req.method ?? "GET", header("origin"), header("access-control-request-method"), allowed);
    if (decision.kind === "none") return false;
    if (decision.kind === "preflight") {
      res.writeHead(decision.status, { ...decision.headers, "content-length": "0" });
      res.end();
      return true;
    }
    for (const [name, value] of Object.entries(decision.headers)) res.setHeader(name, value);
    return false;
  };
}
