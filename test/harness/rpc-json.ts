import http2 from "node:http2";

/** What a raw JSON RPC call answered: the message (or the error) and the field the error names. */
export interface RpcJsonResult {
  /** "ok", or the error code in Connect's spelling (e.g. "invalid_argument"). */
  code: string;
  message: string;
  /** The response message on success. */
  body: Record<string, any>;
  /** The `cronmesh-field` metadata of an error, or "". */
  field: string;
}

/** The ways a raw JSON request can reach an RPC. */
export type JsonProtocol = "connect-post" | "connect-get" | "connect-stream" | "grpc-web" | "grpc";

/** gRPC status numbers by Connect code name, for the gRPC protocols. */
export const GRPC_CODES = [
  "ok",
  "canceled",
  "unknown",
  "invalid_argument",
  "deadline_exceeded",
  "not_found",
  "already_exists",
  "permission_denied",
  "resource_exhausted",
  "failed_precondition",
  "aborted",
  "out_of_range",
  "unimplemented",
  "internal",
  "unavailable",
  "data_loss",
  "unauthenticated",
];

/**
 * Sends `body` as JSON text, exactly as written (unknown fields, lower-case enums and all), to
 * `rpc` (e.g. "cronmesh.v1.CronService/CreateJob") over the given protocol.
 */
export async function rpcJson(baseUrl: string, protocol: JsonProtocol, rpc: string, body: unknown): Promise<RpcJsonResult> {
  const text = JSON.stringify(body);
  switch (protocol) {
    case "connect-post":
      return connectUnary(await fetch(`${baseUrl}/${rpc}`, { method: "POST", headers: { "content-type": "application/json" }, body: text }));
    case "connect-get":
      return connectUnary(await fetch(`${baseUrl}/${rpc}?encoding=json&message=${encodeURIComponent(text)}`));
    case "connect-stream":
      return connectStream(
        await fetch(`${baseUrl}/${rpc}`, { method: "POST", headers: { "content-type": "application/connect+json" }, body: envelope(0, text) }),
      );
    case "grpc-web":
      return grpcWeb(await fetch(`${baseUrl}/${rpc}`, { method: "POST", headers: { "content-type": "application/grpc-web+json" }, body: envelope(0, text) }));
    case "grpc":
      return grpc(baseUrl, rpc, text);
  }
}

function envelope(flags: number, text: string): Uint8Array {
  const data = Buffer.from(text);
  const out = Buffer.alloc(5 + data.length);
  out.writeUInt8(flags, 0);
  out.writeUInt32BE(data.length, 1);
  data.copy(out, 5);
  return out;
}

/** The length-prefixed messages (gRPC, gRPC-Web and Connect streaming framing) in a body, the last one possibly cut short. */
export function* envelopes(bytes: Buffer): Generator<{ flags: number; data: Buffer }> {
  for (let at = 0; at + 5 <= bytes.length;) {
    const length = bytes.readUInt32BE(at + 1);
    yield { flags: bytes[at]!, data: bytes.subarray(at + 5, at + 5 + length) };
    at += 5 + length;
  }
}

async function connectUnary(res: Response): Promise<RpcJsonResult> {
  const json = (await res.json()) as Record<string, any>;
  const field = res.headers.get("cronmesh-field") ?? "";
  return res.ok ? { code: "ok", message: "", body: json, field } : { code: json.code, message: json.message, body: {}, field };
}

/** A Connect stream: data envelopes, then an end-stream envelope (flag 2) with any error and trailers. */
async function connectStream(res: Response): Promise<RpcJsonResult> {
  const result: RpcJsonResult = { code: "ok", message: "", body: {}, field: "" };
  for (const { flags, data } of envelopes(Buffer.from(await res.arrayBuffer()))) {
    const json = JSON.parse(data.toString() || "{}") as Record<string, any>;
    if (!(flags & 2)) {
      result.body = json;
      continue;
    }
    if (json.error) Object.assign(result, { code: json.error.code, message: json.error.message });
    result.field = json.metadata?.["cronmesh-field"]?.[0] ?? res.headers.get("cronmesh-field") ?? "";
  }
  return result;
}

function fromTrailers(trailers: Map<string, string>, body: Record<string, any>): RpcJsonResult {
  const status = Number(trailers.get("grpc-status") ?? "0");
  return {
    code: GRPC_CODES[status] ?? "unknown",
    message: decodeURIComponent(trailers.get("grpc-message") ?? ""),
    body,
    field: trailers.get("cronmesh-field") ?? "",
  };
}

/** gRPC-Web: data envelopes, then a trailer envelope (flag 0x80), or the trailers in the headers. */
async function grpcWeb(res: Response): Promise<RpcJsonResult> {
  const trailers = new Map<string, string>([...res.headers.entries()]);
  let body: Record<string, any> = {};
  for (const { flags, data } of envelopes(Buffer.from(await res.arrayBuffer()))) {
    if (!(flags & 0x80)) {
      body = JSON.parse(data.toString()) as Record<string, any>;
      continue;
    }
    for (const line of data.toString().split("\r\n")) {
      const i = line.indexOf(":");
      if (i > 0) trailers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
    }
  }
  return fromTrailers(trailers, body);
}

/** gRPC over HTTP/2 (prior knowledge): the status comes in the trailers, or in the headers alone. */
async function grpc(baseUrl: string, rpc: string, text: string): Promise<RpcJsonResult> {
  const session = http2.connect(baseUrl);
  try {
    return await new Promise<RpcJsonResult>((resolve, reject) => {
      const trailers = new Map<string, string>();
      const keep = (h: http2.IncomingHttpHeaders) => Object.entries(h).forEach(([k, v]) => typeof v === "string" && trailers.set(k, v));
      const stream = session.request({ ":method": "POST", ":path": `/${rpc}`, "content-type": "application/grpc+json", te: "trailers" });
      const chunks: Buffer[] = [];
      stream.on("response", keep);
      stream.on("trailers", keep);
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("error", reject);
      stream.on("end", () => {
        const data = [...envelopes(Buffer.concat(chunks))][0]?.data;
        resolve(fromTrailers(trailers, data ? (JSON.parse(data.toString()) as Record<string, any>) : {}));
      });
      stream.end(envelope(0, text));
    });
  } finally {
    session.close();
  }
}
