import type { Req } from "../node-call.js";
import { parseJsonBytes, type Json } from "../json-input.js";
import { restError } from "./rest-errors.js";

/**
 * Reads and parses a JSON request body. An empty body is undefined; a non-JSON media type or a
 * compressed body is 415; more than `maxBytes` is 413 (the connection is not read further);
 * malformed JSON or UTF-8 is 400.
 */
export async function readBody(req: Req, maxBytes: number): Promise<Json | undefined> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > maxBytes) throw tooLarge(maxBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw tooLarge(maxBytes);
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  checkMediaType(req.headers["content-type"]);
  checkEncoding(req.headers["content-encoding"]);
  return parseJsonBytes(Buffer.concat(chunks));
}

function tooLarge(maxBytes: number) {
  return restError(413, "resource_exhausted", `request body is larger than ${maxBytes} bytes`, "body");
}

/** REST bodies are read as they come: a compressed one would otherwise fail as "not valid UTF-8". */
function checkEncoding(encoding: string | undefined): void {
  if (encoding && encoding.trim().toLowerCase() !== "identity") {
    throw restError(415, "invalid_argument", `content-encoding ${JSON.stringify(encoding)} is not accepted; send the body uncompressed`, "content-encoding");
  }
}

function checkMediaType(contentType: string | undefined): void {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/json" && !type.endsWith("+json")) {
    throw restError(415, "invalid_argument", `content-type must be application/json, got ${JSON.stringify(contentType ?? "")}`, "content-type");
  }
}
