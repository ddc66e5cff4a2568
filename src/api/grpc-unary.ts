import { type DescMessage, type DescMethodUnary, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { compressionNegotiate, type Compression } from "@connectrpc/connect/protocol";
import {
  contentTypeProto,
  grpcStatusOk,
  headerAcceptEncoding,
  headerEncoding,
  headerGrpcStatus,
  parseTimeout,
  setTrailerStatus,
} from "@connectrpc/connect/protocol-grpc";
import { callSignal, COMPRESS_MIN_BYTES, headersOf, headerValue, nodeHeaders, pathOf, urlOf, type Req, type Res } from "./node-call.js";
import { binaryBytes } from "./shared-encodings.js";
import { decodeBinary } from "./strict-json.js";
import type { UnaryInvokers, UnaryTarget } from "./unary-invoker.js";

/** Options of {@link createGrpcUnary}. */
export interface GrpcUnaryOptions {
  invokers: UnaryInvokers;
  readMaxBytes: number;
  /** The compressions responses may use (those the router accepts). */
  compressions: Compression[];
  /**
   * Serves a request this path hands on, with the request body when it has already been read
   * (the bytes as received, then the rest of the request): the connect router, which answers it
   * as it answers any gRPC call.
   */
  fallback: (req: Req, res: Res, body?: AsyncIterable<Uint8Array>) => void;
  /** A failure outside the call itself (writing the answer): a bug, never the caller's input. */
  onFailure: (err: unknown, rpc: string, res: Res) => void;
}

/** Serves a request when it is a plain gRPC unary call (see {@link createGrpcUnary}); false: not served, hand it on. */
export type GrpcUnary = (req: Req, res: Res) => boolean;

/** gRPC content types with protobuf binary messages (`+json` is left to the router). */
const GRPC_PROTO = /^application\/grpc(?:\+proto)?$/i;
/** The envelope's flag for a compressed message. */
const FLAG_COMPRESSED = 0b00000001;
/** The request headers read here, as node names them (lower case; connect's constants are not). */
const GRPC_ENCODING = "grpc-encoding";
const GRPC_ACCEPT_ENCODING = "grpc-accept-encoding";
const GRPC_TIMEOUT = "grpc-timeout";
/** What connect accepts as a deadline (it has no other limit by default). */
const MAX_TIMEOUT_MS = Number.MAX_SAFE_INTEGER;

/**
 * The gRPC unary call over HTTP/2, the call every typed gRPC client makes: one uncompressed
 * protobuf message in, one out, the status in the trailers. It is served here as connect-es's gRPC
 * handler serves it (content type, compression negotiation and threshold, trailers, deadline
 * from `grpc-timeout`, error status and details) through {@link UnaryInvokers}, without
 * connect's per-call context, abort controllers and async-iterable pipeline, which cost more
 * than a small call's own work. Anything else is handed to `fallback` unchanged: gRPC with JSON
 * messages, compressed requests, a `grpc-timeout` connect refuses, and — once the body is read —
 * a body that is not exactly one well-formed message (too large, more or fewer than one
 * envelope, unknown flags, not decodable), so that every refusal is the router's own.
 */
export function createGrpcUnary(options: GrpcUnaryOptions): GrpcUnary {
  return (req, res) => {
    if (req.httpVersionMajor !== 2 || req.method !== "POST") return false;
    const type = req.headers["content-type"];
    if (type === undefined || !GRPC_PROTO.test(type) || req.headers[GRPC_ENCODING] !== undefined) return false;
    const target = options.invokers.get(pathOf(req));
    if (!target) return false;
    const timeout = parseTimeout(headerValue(req, GRPC_TIMEOUT), MAX_TIMEOUT_MS);
    if (timeout.error) return false;
    const compression = compressionNegotiate(options.compressions, null, headerValue(req, GRPC_ACCEPT_ENCODING), headerAcceptEncoding);
    if (compression.error) return false;
    serve(req, res, target, timeout.timeoutMs, compression.response, options).catch((err: unknown) => options.onFailure(err, target.method.name, res));
    return true;
  };
}

async function serve(
  req: Req,
  res: Res,
  target: UnaryTarget,
  timeoutMs: number | undefined,
  compression: Compression | null,
  options: GrpcUnaryOptions,
): Promise<void> {
  const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
  const body = await readBody(req, options.readMaxBytes);
  if (!Array.isArray(body)) return options.fallback(req, res, body);
  const bytes = body.length === 1 ? body[0]! : Buffer.concat(body);
  const message = singleMessage(target.method, bytes);
  if (message === undefined) return options.fallback(req, res, oneChunk(bytes));
  const responseHeader = new Headers({ "content-type": contentTypeProto });
  if (compression) responseHeader.set(headerEncoding, compression.name);
  const responseTrailer = new Headers({ [headerGrpcStatus]: grpcStatusOk });
  let out: Uint8Array | undefined;
  try {
    const response = await target.invoke({
      message,
      header: headersOf(req),
      url: urlOf(req),
      requestMethod: "POST",
      protocolName: "grpc",
      signal: callSignal(res, timeoutMs),
      timeoutMs: deadline === undefined ? undefined : () => deadline - Date.now(),
      responseHeader,
      responseTrailer,
    });
    out = await envelope(response.message, target, compression);
  } catch (err) {
    // As connect's gRPC handler: a ConnectError is the status; anything else is Internal.
    setTrailerStatus(responseTrailer, err instanceof ConnectError ? err : new ConnectError("internal error", Code.Internal, undefined, undefined, err));
  }
  res.writeHead(200, nodeHeaders(responseHeader));
  res.addTrailers(nodeHeaders(responseTrailer));
  if (out) res.end(out);
  else res.end();
}

/** The response message in its envelope, compressed as connect compresses it. */
async function envelope(message: MessageShape<DescMessage>, target: UnaryTarget, compression: Compression | null): Promise<Uint8Array> {
  let data: Uint8Array = binaryBytes(target.method.output, message);
  let flags = 0;
  if (compression && data.byteLength >= COMPRESS_MIN_BYTES) {
    data = await compression.compress(data);
    flags = FLAG_COMPRESSED;
  }
  const out = Buffer.allocUnsafe(5 + data.byteLength);
  out[0] = flags;
  out.writeUInt32BE(data.byteLength, 1);
  out.set(data, 5);
  return out;
}

/** The one request message of a body that is exactly one uncompressed envelope and decodes; else undefined. */
function singleMessage(method: DescMethodUnary, bytes: Uint8Array) {
  if (bytes.byteLength < 5 || bytes[0] !== 0) return undefined;
  const length = ((bytes[1]! << 24) >>> 0) + (bytes[2]! << 16) + (bytes[3]! << 8) + bytes[4]!;
  if (length !== bytes.byteLength - 5) return undefined;
  try {
    return decodeBinary(method.input, bytes.subarray(5));
  } catch {
    return undefined;
  }
}

/**
 * The request body's chunks, or — once it grows past `max` — a stream of what was read and the
 * rest of the request, for the router to refuse as it refuses any oversized call.
 */
function readBody(req: Req, max: number): Promise<Buffer[] | AsyncIterable<Uint8Array>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      chunks.push(chunk);
      if (size <= max) return;
      req.off("data", onData);
      req.off("end", onEnd);
      req.pause();
      resolve(rest(chunks, req));
    };
    const onEnd = () => resolve(chunks);
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("error", reject);
  });
}

async function* rest(read: Buffer[], req: Req): AsyncIterable<Uint8Array> {
  yield* read;
  for await (const chunk of req) yield chunk as Buffer;
}

async function* oneChunk(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}
