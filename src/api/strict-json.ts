import type { DescMessage } from "@bufbuild/protobuf";
import { base64Decode } from "@bufbuild/protobuf/wire";
import type { Compression, UniversalHandler, UniversalServerRequest } from "@connectrpc/connect/protocol";
import { compressedFlag, encodeEnvelope, readAllBytes, transformSplitEnvelope } from "@connectrpc/connect/protocol";
import { toConnectError } from "./error-codes.js";
import { normalizeJson, parseJsonText, type Json } from "./json-input.js";

/** The JSON options of the RPC codecs: a field the server does not know is an error, never dropped. */
export const STRICT_JSON_OPTIONS = { ignoreUnknownFields: false } as const;

/** Options of {@link strictJsonHandler}. */
export interface StrictJsonOptions {
  readMaxBytes: number;
  /** The compressions the router accepts, to read compressed JSON requests. */
  compressions: Compression[];
}

/** How a request carries JSON, if it does. */
type JsonShape = "unary-post" | "unary-get" | "enveloped" | undefined;

const UNARY_JSON = /^application\/json(\s*;|$)/i;
/** Connect streaming, gRPC and gRPC-Web with the JSON codec: length-prefixed JSON messages. */
const ENVELOPED_JSON = /^application\/(connect|grpc|grpc-web)\+json(\s*;|$)/i;
/** The per-message compression header of each enveloped protocol. */
const ENVELOPE_ENCODING_HEADERS = ["connect-content-encoding", "grpc-encoding"];

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * Wraps a router's handler so that every JSON request, on every protocol, is read by
 * {@link normalizeJson} (the function the REST routes use) before the codec sees it: lower-case
 * enum names are accepted and an unknown field or enum value fails as InvalidArgument naming the
 * field, with the field in the error metadata. A Connect unary POST is parsed once here and handed
 * to the handler as a JSON value, so it costs no second parse. Binary requests pass untouched.
 *
 * A failure is handed to the handler as a body that throws it when read, so that the protocol's
 * own error form answers it.
 */
export function strictJsonHandler(handler: UniversalHandler, options: StrictJsonOptions): UniversalHandler {
  const input = handler.method.input;
  const unary = handler.method.methodKind === "unary";
  const wrapped = async (req: UniversalServerRequest) => {
    switch (jsonShape(req, unary)) {
      case "unary-post":
        return handler({ ...req, body: await unaryBody(req, input, options) });
      case "unary-get":
        return handler(await unaryGet(req, input, options));
      case "enveloped":
        return handler({ ...req, body: normalizeEnvelopes(req, input, options) });
      default:
        return handler(req);
    }
  };
  return Object.assign(wrapped, handler);
}

function jsonShape(req: UniversalServerRequest, unary: boolean): JsonShape {
  const type = req.header.get("content-type") ?? "";
  if (ENVELOPED_JSON.test(type)) return "enveloped";
  if (!unary) return undefined;
  if (req.method === "POST" && UNARY_JSON.test(type)) return "unary-post";
  if (req.method === "GET" && new URL(req.url).searchParams.get("encoding") === "json") return "unary-get";
  return undefined;
}

/** The normalised JSON of a Connect unary POST, or a body that throws why it could not be read. */
async function unaryBody(req: UniversalServerRequest, desc: DescMessage, options: StrictJsonOptions) {
  if (!isByteStream(req.body)) return normalizeOrThrowing(desc, () => req.body as Json);
  const compression = compressionNamed(options, req.header.get("content-encoding"));
  if (compression === null) return req.body;
  try {
    let bytes: Uint8Array = await readAllBytes(req.body, options.readMaxBytes, req.header.get("content-length"));
    if (compression) bytes = await compression.decompress(bytes, options.readMaxBytes);
    return normalizeOrThrowing(desc, () => parseJsonText(decoder.decode(bytes)));
  } catch (err) {
    return throwing(err);
  }
}

/**
 * A Connect unary GET (`?encoding=json&message=…`) with its message normalised in the URL. When
 * the message is refused, the request becomes a POST whose body throws the refusal: the handler
 * answers it exactly as it answers a GET it refuses itself.
 */
async function unaryGet(req: UniversalServerRequest, desc: DescMessage, options: StrictJsonOptions): Promise<UniversalServerRequest> {
  const url = new URL(req.url);
  const params = url.searchParams;
  const compression = compressionNamed(options, params.get("compression"));
  if (compression === null) return req;
  try {
    let bytes = params.get("base64") === "1" ? base64Decode(params.get("message") ?? "") : encoder.encode(params.get("message") ?? "");
    if (compression) bytes = await compression.decompress(bytes, options.readMaxBytes);
    const message = normalizeJson(desc, parseJsonText(decoder.decode(bytes)), "");
    for (const name of ["base64", "compression"]) params.delete(name);
    params.set("message", JSON.stringify(message));
    return { ...req, url: url.toString() };
  } catch (err) {
    const header = new Headers(req.header);
    header.set("content-type", "application/json");
    return { ...req, method: "POST", header, body: throwing(err) };
  }
}

/** Each enveloped JSON message normalised; envelopes with other flags (end of stream) pass as they are. */
async function* normalizeEnvelopes(req: UniversalServerRequest, desc: DescMessage, options: StrictJsonOptions): AsyncIterable<Uint8Array> {
  if (!isByteStream(req.body)) throw toConnectError(new Error("a streaming request needs a byte stream body"));
  const encoding = ENVELOPE_ENCODING_HEADERS.map((h) => req.header.get(h)).find((v) => v !== null);
  const compression = compressionNamed(options, encoding ?? null);
  for await (const envelope of transformSplitEnvelope(options.readMaxBytes)(req.body)) {
    const compressed = (envelope.flags & compressedFlag) === compressedFlag;
    if ((envelope.flags & ~compressedFlag) !== 0 || (compressed && !compression)) {
      yield encodeEnvelope(envelope.flags, envelope.data);
      continue;
    }
    const data = compressed ? await compression!.decompress(envelope.data, options.readMaxBytes) : envelope.data;
    const message = normalizeOrThrow(desc, () => parseJsonText(decoder.decode(data)));
    yield encodeEnvelope(0, encoder.encode(JSON.stringify(message)));
  }
}

/**
 * The compression a request names: undefined for none, null for one this server does not accept
 * (the request is then left to the handler, which refuses it in its protocol's way).
 */
function compressionNamed(options: StrictJsonOptions, name: string | null): Compression | undefined | null {
  if (!name || name === "identity") return undefined;
  return options.compressions.find((c) => c.name === name) ?? null;
}

function normalizeOrThrow(desc: DescMessage, read: () => Json): Json {
  try {
    return normalizeJson(desc, read(), "");
  } catch (err) {
    throw toConnectError(err);
  }
}

function normalizeOrThrowing(desc: DescMessage, read: () => Json): Json | AsyncIterable<Uint8Array> {
  try {
    return normalizeOrThrow(desc, read);
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
