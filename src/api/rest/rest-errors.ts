import { ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { FIELD_METADATA_KEY, HTTP_STATUS, toConnectError } from "../error-codes.js";

/** The one error shape of every REST route. `field` is "" when no single field is at fault. */
export interface RestError {
  code: string;
  message: string;
  field: string;
}

/** Error metadata that REST callers get as response headers: the 401 challenge and the 429 wait. */
const HEADERS_FROM_METADATA = ["www-authenticate", "retry-after"];

/** HTTP status, body and headers for anything thrown while serving a REST call. */
export function restErrorOf(err: unknown): { status: number; body: RestError; headers: Record<string, string> } {
  const ce = err instanceof ConnectError ? err : toConnectError(err);
  const headers: Record<string, string> = {};
  for (const name of HEADERS_FROM_METADATA) {
    const value = ce.metadata.get(name);
    if (value !== null) headers[name] = value;
  }
  return {
    status: HTTP_STATUS[ce.code],
    body: { code: codeToString(ce.code), message: ce.rawMessage, field: ce.metadata.get(FIELD_METADATA_KEY) ?? "" },
    headers,
  };
}

/** A REST error built directly, for failures found before any RPC runs (415, 413, 404, 405). */
export function restError(status: number, code: string, message: string, field = ""): { status: number; body: RestError } {
  return { status, body: { code, message, field } };
}
