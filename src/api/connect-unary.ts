import { fromJson, type DescMethodUnary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { compressionNegotiate, type Compression } from "@connectrpc/connect/protocol";
import {
  codeToHttpStatus,
  contentTypeUnaryJson,
  contentTypeUnaryProto,
  contentTypeUnaryRegExp,
  errorToJsonBytes,
  headerUnaryEncoding,
  trailerMux,
} from "@connectrpc/connect/protocol-connect";
import { toConnectError } from "./error-codes.js";
import { normalizeJson, parseJsonBytes } from "./json-input.js";
import { callSignal, COMPRESS_MIN_BYTES, headersOf, headerValue, nodeHeaders, pathOf, urlOf, type Req, type Res } from "./node-call.js";
import { binaryBytes, CONNECT_JSON, jsonText } from "./shared-encodings.js";
import { decodeBinary } from "./strict-json.js";
import type { UnaryInvokers, UnaryTarget } from "./unary-invoker.js";

/** Options of {@link createConnectUnary}. */
export interface ConnectUnaryOptions {
  invokers: UnaryInvokers;
  readMaxBytes: number;
  /** The compressions responses may use (those the router accepts). */
  compressions: Compression[];
  /**
   * A failure outside the call itself (writing the answer): a bug, never the caller's input. It
   * is reported here so that the caller is not left waiting (see `createRpcHandler`).
   */
  onFailure: (err: unknown, rpc: string, res: Res) => void;
}

/** Serves a request when it is a plain Connect unary POST (see {@link createConnectUnary}); false: not served, hand it on. */
export type ConnectUnary = (req: Req, res: Res) => boolean;

/**
 * The Connect protocol's unary POST, the call every Connect client makes: a JSON or binary body,
 * answered with the message or the protocol's JSON error. It is served here as connect-es's own
 * handler serves it (its serialization, error form, status mapping, trailer and compression
 * rules, and the JSON read by the REST rules, as {@link strictJsonHandler} does), through
 * {@link UnaryInvokers}: without connect's per-call context, abort controllers and stream
 * plumbing, which cost as much as a small call's own work. Anything else — GET requests,
 * compressed request bodies, timeouts (`connect-timeout-ms`), streams, gRPC and gRPC-Web — is
 * left to the connect router.
 */
export function createConnectUnary(options: ConnectUnaryOptions): ConnectUnary {
  return (req, res) => {
    if (req.method !== "POST") return false;
    const type = req.headers["content-type"];
    if (type === undefined || !contentTypeUnaryRegExp.test(type)) return false;
    const encoding = req.headers["content-encoding"];
    if ((encoding && encoding !== "identity") || req.headers["connect-timeout-ms"] !== undefined) return false;
    const target = options.invokers.get(pathOf(req));
    if (!target) return false;
    const binary = type.toLowerCase() === contentTypeUnaryProto;
    serve(req, res, target, binary, options).catch((err: unknown) => options.onFailure(err, target.method.name, res));
    return true;
  };
}

async function serve(req: Req, res: Res, target: UnaryTarget, binary: boolean, options: ConnectUnaryOptions): Promise<void> {
  const responseHeader = new Headers({ "content-type": binary ? contentTypeUnaryProto : contentTypeUnaryJson });
  const responseTrailer = new Headers();
  let status = 200;
  let body: Uint8Array;
  try {
    const bytes = await readBody(req, options.readMaxBytes);
    const message = binary ? parseBinary(target.method, bytes) : parseJson(target.method, bytes);
    const response = await target.invoke({
      message,
      header: headersOf(req),
      url: urlOf(req),
      requestMethod: "POST",
      protocolName: "connect",
      signal: callSignal(res),
      responseHeader,
      responseTrailer,
    });
    const output = target.method.output;
    body = binary ? binaryBytes(output, response.message) : Buffer.from(jsonText(CONNECT_JSON, output, response.message));
  } catch (err) {
    // Interceptors and handlers throw ConnectErrors (the error interceptor maps the rest); a
    // refusal of the request itself is a CronError naming the field, as on the router's path.
    const error = toConnectError(err);
    status = codeToHttpStatus(error.code);
    responseHeader.set("content-type", contentTypeUnaryJson);
    error.metadata.forEach((value, key) => responseHeader.set(key, value));
    body = errorToJsonBytes(error, {});
  }
  const compression = compressionNegotiate(options.compressions, null, headerValue(req, "accept-encoding"), "Accept-Encoding").response;
  if (compression && body.byteLength >= COMPRESS_MIN_BYTES) {
    body = await compression.compress(body);
    responseHeader.set(headerUnaryEncoding, compression.name);
  }
  const header = trailerMux(responseHeader, responseTrailer);
  header.set("content-length", String(body.byteLength));
  res.writeHead(status, nodeHeaders(header));
  res.end(body);
}

/**
 * The request message of a JSON body, read by the rules of every JSON request (see
 * {@link normalizeJson}, and {@link parseJsonBytes}: UTF-8 only): a refusal is InvalidArgument
 * naming the field, as on the REST routes and on the router's path ({@link strictJsonHandler}).
 */
function parseJson(method: DescMethodUnary, bytes: Uint8Array) {
  let json;
  try {
    json = normalizeJson(method.input, parseJsonBytes(bytes), "");
  } catch (err) {
    throw toConnectError(err);
  }
  try {
    return fromJson(method.input, json);
  } catch (err) {
    throw ConnectError.from(err, Code.InvalidArgument);
  }
}

/** The request message of a protobuf binary body; one that does not decode is InvalidArgument naming `body`, as on the router's path. */
function parseBinary(method: DescMethodUnary, bytes: Uint8Array) {
  try {
    return decodeBinary(method.input, bytes);
  } catch (err) {
    throw toConnectError(err);
  }
}

/** The whole request body, refused (ResourceExhausted) beyond `max` bytes, with connect's messages. */
function readBody(req: Req, max: number): Promise<Uint8Array> {
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (declared > max) return Promise.reject(new ConnectError(`message size ${declared} is larger than configured readMaxBytes ${max}`, Code.ResourceExhausted));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > max) {
        req.removeAllListeners("data");
        req.resume();
        reject(new ConnectError(`message size is larger than configured readMaxBytes ${max}`, Code.ResourceExhausted));
        return;
      }
      chunks.push(chunk);
    });
    req.once("end", () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    req.once("error", (err) => reject(ConnectError.from(err, Code.Aborted)));
  });
}
