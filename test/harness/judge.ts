import type { FuzzCase, Protocol } from "./malformed.js";
import { envelopes, GRPC_CODES } from "./rpc-json.js";
import type { WireResponse } from "./wire.js";

/** gRPC status numbers that are the server's fault (their HTTP equivalents are 5xx). */
const SERVER_FAULT_STATUSES = new Set([2, 4, 12, 13, 14, 15]);
/** The same codes in Connect's spelling. */
const SERVER_FAULT_CODES = new Set(["unknown", "deadline_exceeded", "unimplemented", "internal", "unavailable", "data_loss"]);

/**
 * Why an answer to a malformed request is wrong, or undefined when it is right: there must be an
 * answer (raw connections excepted, which the server may just close), no 5xx and no error code of
 * the server's fault in any protocol's error form, and every REST error a JSON `{code, message, field}`.
 */
export function judge(c: FuzzCase, res: WireResponse): string | undefined {
  if (res.status === 0) return c.protocol === "raw" || res.open || refusedAsTooLarge(c, res) ? undefined : `no answer (${res.error})`;
  if (res.status >= 500) return `HTTP ${res.status}: ${res.body.toString("utf8", 0, 500)}`;
  switch (answeredAs(c)) {
    case "rest":
      return judgeRest(c, res);
    case "connect":
      return undefined;
    case "connect-stream":
      return res.status === 200 ? judgeConnectStream(res) : undefined;
    case "grpc":
    case "grpc-web":
    case "grpc-web-text":
      return res.status === 200 ? judgeGrpc(c, res) : undefined;
    case "raw":
      return undefined;
  }
}

/** The protocol whose form the answer takes: an RPC is answered in the protocol its content type names. */
function answeredAs(c: FuzzCase): Protocol {
  if (c.protocol === "rest" || c.protocol === "raw") return c.protocol;
  const type = (c.request.headers["content-type"] ?? "").toLowerCase();
  if (type.startsWith("application/grpc-web-text")) return "grpc-web-text";
  if (type.startsWith("application/grpc-web")) return "grpc-web";
  if (type.startsWith("application/grpc")) return "grpc";
  if (type.startsWith("application/connect+")) return "connect-stream";
  return "connect";
}

/** HTTP/1.1 answers 431 to headers over 16 KiB; HTTP/2 may refuse the stream instead (RFC 9113 §10.5.1). */
const HEADER_LIMIT = 16 * 1024;

function refusedAsTooLarge(c: FuzzCase, res: WireResponse): boolean {
  const size = c.request.path.length + Object.entries(c.request.headers).reduce((n, [k, v]) => n + k.length + v.length, 0);
  return c.request.transport === "h2" && size > HEADER_LIMIT && /REFUSED_STREAM/.test(res.error ?? "");
}

function judgeRest(c: FuzzCase, res: WireResponse): string | undefined {
  if (c.request.method === "HEAD" || res.status === 204) return undefined;
  if (res.status < 400) return res.status === 200 && c.request.streaming ? judgeNdjson(res) : undefined;
  if (fromHttpParser(res)) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(res.body.toString("utf8"));
  } catch {
    return `HTTP ${res.status} without a JSON error body: ${res.body.toString("utf8", 0, 200)}`;
  }
  const keys = body && typeof body === "object" ? Object.keys(body).sort().join(",") : "";
  if (keys !== "code,field,message") return `HTTP ${res.status} with an error body that is not {code, message, field}: ${res.body.toString("utf8", 0, 200)}`;
  return undefined;
}

/** Node's HTTP/1.1 parser refuses what it cannot parse (400, 431) itself, before any route is known, and closes. */
function fromHttpParser(res: WireResponse): boolean {
  return (res.status === 400 || res.status === 431) && res.body.length === 0 && res.headers.connection === "close";
}

/** A REST stream (NDJSON): a final `{"error": …}` line must not be the server's fault. */
function judgeNdjson(res: WireResponse): string | undefined {
  for (const line of res.body.toString("utf8").split("\n")) {
    if (!line.startsWith('{"error"')) continue;
    const code = (JSON.parse(line) as { error: { code: string } }).error.code;
    if (SERVER_FAULT_CODES.has(code)) return `stream ended with ${line}`;
  }
  return undefined;
}

function judgeConnectStream(res: WireResponse): string | undefined {
  for (const { flags, data } of envelopes(res.body)) {
    if (!(flags & 2)) continue;
    const end = JSON.parse(data.toString() || "{}") as { error?: { code: string; message?: string } };
    if (end.error && SERVER_FAULT_CODES.has(end.error.code)) return `end of stream with ${data.toString("utf8", 0, 300)}`;
    return undefined;
  }
  return res.open ? undefined : "a Connect stream without an end-of-stream message";
}

/** gRPC: status in the trailers (or headers); gRPC-Web: in the headers or a trailer frame (flag 0x80). */
function judgeGrpc(c: FuzzCase, res: WireResponse): string | undefined {
  let status = res.trailers["grpc-status"] ?? res.headers["grpc-status"];
  let message = res.trailers["grpc-message"] ?? res.headers["grpc-message"] ?? "";
  if (status === undefined && answeredAs(c) !== "grpc") {
    const body = answeredAs(c) === "grpc-web-text" ? Buffer.from(res.body.toString("latin1"), "base64") : res.body;
    for (const { flags, data } of envelopes(body)) {
      if (!(flags & 0x80)) continue;
      status = /grpc-status:\s*(\d+)/i.exec(data.toString())?.[1];
      message = /grpc-message:\s*(.*)/i.exec(data.toString())?.[1] ?? "";
    }
  }
  if (status === undefined) return res.open ? undefined : `no grpc-status (${res.body.length} body bytes)`;
  if (SERVER_FAULT_STATUSES.has(Number(status))) return `grpc-status ${status}: ${message.trim()}`;
  return undefined;
}

/** The error of an answer in one shape, whatever the protocol: code (Connect spelling, "ok" if none), field and message. */
export function errorOf(c: FuzzCase, res: WireResponse): { status: number; code: string; field: string; message: string } {
  const out = {
    status: res.status,
    code: res.status === 0 ? "no answer" : "ok",
    field: res.headers["cronmesh-field"] ?? res.trailers["cronmesh-field"] ?? "",
    message: "",
  };
  if (answeredAs(c) === "rest" || answeredAs(c) === "connect") {
    if (res.status < 400) return out;
    const body = JSON.parse(res.body.toString("utf8")) as { code: string; message: string; field?: string };
    return { ...out, code: body.code, message: body.message, field: body.field ?? out.field };
  }
  let status = res.trailers["grpc-status"] ?? res.headers["grpc-status"];
  let message = res.trailers["grpc-message"] ?? res.headers["grpc-message"] ?? "";
  let field = out.field;
  for (const { flags, data } of envelopes(res.body)) {
    if (!(flags & 0x80)) continue;
    status = /grpc-status:\s*(\d+)/i.exec(data.toString())?.[1];
    message = /grpc-message:\s*(.*)/i.exec(data.toString())?.[1]?.trim() ?? "";
    field = /cronmesh-field:\s*(.*)/i.exec(data.toString())?.[1]?.trim() ?? field;
  }
  return { ...out, code: status === undefined ? "none" : (GRPC_CODES[Number(status)] ?? status), field, message };
}
