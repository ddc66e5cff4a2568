import { fromBinary, type DescMessage, type DescMethod, type MessageShape } from "@bufbuild/protobuf";
import { base64Decode, base64Encode } from "@bufbuild/protobuf/wire";
import { ConnectError, Code } from "@connectrpc/connect";
import type { Compression, UniversalHandler, UniversalServerRequest } from "@connectrpc/connect/protocol";
import { compressedFlag, createAsyncIterable, encodeEnvelope, readAllBytes, transformSplitEnvelope } from "@connectrpc/connect/protocol";
import { CronError } from "../domain/cron-error.js";
import { toConnectError } from "./error-codes.js";
import { messageFromJson, normalizeJson, parseJsonBytes, type Json } from "./json-input.js";

/** The JSON options of the RPC codecs: a field the server does not know is an error, never dropped. */
export const STRICT_JSON_OPTIONS = { ignoreUnknownFields: false } as const;

/** Options of {@link strictJsonHandler}. */
export interface StrictJsonOptions {
  readMaxBytes: number;
  /** The compressions the router accepts, to read compressed requests. */
  compressions: Compression[];
}

/** How a request carries its message, when this wrapper reads it. */
type Shape = { kind: "unary-post" | "unary-get" | "enveloped"; json: boolean } | undefined;

/** Connect unary POST: one bare message. */
const UNARY = /^application\/(json|proto)(\s*;|$)/i;
/** Connect streaming, gRPC and gRPC-Web: length-prefixed messages (no suffix means protobuf binary). */
const ENVELOPED = /^application\/(?:connect|grpc|grpc-web)(?:\+(json|proto))?(\s*;|$)/i;
/** The per-message compression header of each enveloped protocol. */
const ENVELOPE_ENCODING_HEADERS = ["connect-content-encoding", "grpc-encoding"];

const encoder = new TextEncoder();

/**
 * Wraps a router's handler so that every request message, on every protocol, is read here before
 * connect's codecs see it, and anything malformed fails as the caller's fault (InvalidArgument
 * naming the field, or ResourceExhausted over the size limit), never as an internal error:
 * - JSON is read by {@link normalizeJson} (the function the REST routes use): lower-case enum
 *   names are accepted, an unknown field or enum value fails naming the field, with the field in
 *   the error metadata. A Connect unary POST is parsed once here and handed on as a JSON value.
 * - Protobuf binary must decode (connect-es reports an undecodable message as Internal).
 * - Compressed bodies are decompressed here (within the size limit) and handed on uncompressed;
 *   an encoding the server does not accept fails naming its header or parameter.
 * - Enveloped requests must be well-framed: one message for unary and server-streaming RPCs, no
 *   flags but the compression flag.
 *
 * A failure is handed to the handler as a body that throws it when read, so that the protocol's
 * own error form answers it.
 */
export function strictJsonHandler(handler: UniversalHandler, options: StrictJsonOptions): UniversalHandler {
  const method = handler.method;
  const wrapped = async (req: UniversalServerRequest) => {
    const shape = shapeOf(req, method.methodKind === "unary");
    switch (shape?.kind) {
      case "unary-post":
        return handler(await unaryPost(req, method.input, shape.json, options));
      case "unary-get":
        return handler(await unaryGet(req, method.input, shape.json, options));
      case "enveloped":
        return handler(enveloped(req, method, shape.json, options));
      default:
        return handler(req);
    }
  };
  return Object.assign(wrapped, handler);
}

function shapeOf(req: UniversalServerRequest, unary: boolean): Shape {
  const type = req.header.get("content-type") ?? "";
  const framed = ENVELOPED.exec(type);
  if (framed) return { kind: "enveloped", json: framed[1]?.toLowerCase() === "json" };
  if (!unary) return undefined;
  const plain = UNARY.exec(type);
  if (req.method === "POST" && plain) return { kind: "unary-post", json: plain[1]!.toLowerCase() === "json" };
  const encoding = req.method === "GET" ? new URL(req.url).searchParams.get("encoding") : null;
  if (encoding === "json" || encoding === "proto") return { kind: "unary-get", json: encoding === "json" };
  return undefined;
}

/** A Connect unary POST with its message read: normalised JSON, or checked binary; uncompressed either way. */
async function unaryPost(req: UniversalServerRequest, desc: DescMessage, json: boolean, options: StrictJsonOptions): Promise<UniversalServerRequest> {
  if (!isByteStream(req.body)) return { ...req, body: json ? normalizeOrThrowing(desc, () => req.body as Json) : req.body };
  const header = without(req.header, ["content-encoding"]);
  try {
    const compression = compressionNamed(options, "content-encoding", req.header.get("content-encoding"));
    let bytes: Uint8Array = await readAllBytes(req.body, options.readMaxBytes, req.header.get("content-length"));
    if (compression) bytes = await decompress(compression, bytes, options.readMaxBytes, "content-encoding");
    const body = json ? normalizeJson(desc, parseJsonBytes(bytes), "") : createAsyncIterable([checkBinary(desc, bytes)]);
    return { ...req, header, body };
  } catch (err) {
    return { ...req, header, body: throwing(err) };
  }
}

/**
 * A Connect unary GET (`?encoding=…&message=…`) with its message read and put back in plain form:
 * normalised JSON, or checked binary in base64, uncompressed. When the message is refused, the
 * request becomes a POST whose body throws the refusal: the handler answers it exactly as it
 * answers a GET it refuses itself.
 */
async function unaryGet(req: UniversalServerRequest, desc: DescMessage, json: boolean, options: StrictJsonOptions): Promise<UniversalServerRequest> {
  const url = new URL(req.url);
  const params = url.searchParams;
  try {
    const compression = compressionNamed(options, "compression", params.get("compression"));
    const message = params.get("message") ?? "";
    let bytes = params.get("base64") === "1" ? decodeBase64(message) : encoder.encode(message);
    if (compression) bytes = await decompress(compression, bytes, options.readMaxBytes, "compression");
    params.delete("compression");
    if (json) params.delete("base64");
    else params.set("base64", "1");
    params.set("message", json ? JSON.stringify(normalizeJson(desc, parseJsonBytes(bytes), "")) : base64Encode(checkBinary(desc, bytes), "url"));
    return { ...req, url: url.toString() };
  } catch (err) {
    const header = new Headers(req.header);
    header.set("content-type", json ? "application/json" : "application/proto");
    return { ...req, method: "POST", header, body: throwing(err) };
  }
}

/** An enveloped request with its messages read and re-framed uncompressed; the encoding header goes with them. */
function enveloped(req: UniversalServerRequest, method: DescMethod, json: boolean, options: StrictJsonOptions): UniversalServerRequest {
  const name = ENVELOPE_ENCODING_HEADERS.find((h) => req.header.has(h)) ?? "grpc-encoding";
  const body = isByteStream(req.body) ? req.body : createAsyncIterable<Uint8Array>([]);
  return { ...req, header: without(req.header, ENVELOPE_ENCODING_HEADERS), body: envelopes(body, method, json, name, req.header.get(name), options) };
}

async function* envelopes(
  body: AsyncIterable<Uint8Array>,
  method: DescMethod,
  json: boolean,
  encodingHeader: string,
  encoding: string | null,
  options: StrictJsonOptions,
): AsyncIterable<Uint8Array> {
  // Unary and server-streaming RPCs take exactly one request message.
  const single = method.methodKind === "unary" || method.methodKind === "server_streaming";
  try {
    const compression = compressionNamed(options, encodingHeader, encoding);
    let count = 0;
    for await (const envelope of transformSplitEnvelope(options.readMaxBytes)(body)) {
      if (++count > 1 && single) throw CronError.invalid("body", `more than one request message for ${method.name}`);
      if ((envelope.flags & ~compressedFlag) !== 0) throw CronError.invalid("body", `a request message with flags 0x${envelope.flags.toString(16)}`);
      let data = envelope.data;
      if (envelope.flags & compressedFlag) {
        if (!compression) throw CronError.invalid(encodingHeader, "a compressed message, but no encoding named");
        data = await decompress(compression, data, options.readMaxBytes, encodingHeader);
      }
      yield encodeEnvelope(0, json ? encoder.encode(JSON.stringify(checkedJson(method.input, data))) : checkBinary(method.input, data));
    }
    if (count === 0 && single) throw CronError.invalid("body", `no request message for ${method.name}`);
  } catch (err) {
    // The framing errors of connect's envelope reader are the body's fault; name it.
    throw err instanceof ConnectError && err.code === Code.InvalidArgument ? toConnectError(CronError.invalid("body", err.rawMessage)) : toConnectError(err);
  }
}

/** The compression a request names, or undefined for none; one this server does not accept fails naming where it was named. */
function compressionNamed(options: StrictJsonOptions, field: string, name: string | null): Compression | undefined {
  if (!name || name === "identity") return undefined;
  const found = options.compressions.find((c) => c.name === name);
  if (found) return found;
  throw CronError.invalid(field, `unsupported compression ${JSON.stringify(name)}; supported: ${options.compressions.map((c) => c.name).join(", ")}`);
}

/** Decompresses within the size limit; bytes that are not in the format fail naming where it was named. */
async function decompress(compression: Compression, bytes: Uint8Array, readMaxBytes: number, field: string): Promise<Uint8Array> {
  try {
    return await compression.decompress(bytes, readMaxBytes);
  } catch (err) {
    if (err instanceof ConnectError && err.code === Code.ResourceExhausted) throw err;
    throw CronError.invalid(field, `the body is not valid ${compression.name} data`);
  }
}

function decodeBase64(text: string): Uint8Array {
  try {
    return base64Decode(text);
  } catch {
    throw CronError.invalid("message", "not valid base64");
  }
}

/**
 * The canonical JSON of a message's bytes, once it is known to decode as `desc`: a value that does
 * not fails here naming its field, not in connect's codec, whose error echoes the value into
 * gRPC's `grpc-message`, which cannot carry a lone surrogate (the answer was lost).
 */
function checkedJson(desc: DescMessage, bytes: Uint8Array): Json {
  const json = normalizeJson(desc, parseJsonBytes(bytes), "");
  messageFromJson(desc, json);
  return json;
}

/** The bytes, once they are known to decode as `desc` in protobuf binary. */
function checkBinary(desc: DescMessage, bytes: Uint8Array): Uint8Array {
  decodeBinary(desc, bytes);
  return bytes;
}

/**
 * The message of a protobuf binary request; bytes that do not decode as `desc` fail as
 * InvalidArgument naming `body` (connect-es reports them as Internal).
 */
export function decodeBinary<Desc extends DescMessage>(desc: Desc, bytes: Uint8Array): MessageShape<Desc> {
  try {
    return fromBinary(desc, bytes);
  } catch (err) {
    throw CronError.invalid("body", `not a valid ${desc.typeName} in protobuf binary: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function without(header: Headers, names: string[]): Headers {
  if (!names.some((name) => header.has(name))) return header;
  const out = new Headers(header);
  for (const name of names) out.delete(name);
  return out;
}

function normalizeOrThrowing(desc: DescMessage, read: () => Json): Json | AsyncIterable<Uint8Array> {
  try {
    return normalizeJson(desc, read(), "");
  } catch (err) {
    return throwing(err);
  }
}

/** A request body that fails with `err` (as a Connect error) when read. */
function throwing(err: unknown): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(toConnectError(err)) }),
  };
}

function isByteStream(body: UniversalServerRequest["body"]): body is AsyncIterable<Uint8Array> {
  return typeof body === "object" && body !== null && Symbol.asyncIterator in body;
}
