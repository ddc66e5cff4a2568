import { ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { FIELD_METADATA_KEY, HTTP_STATUS, toConnectError } from "../error-codes.js";

/** The one error shape of every REST route. `field` is "" when no single field is at fault. */
export interface RestError {
  code: string;
  message: string;
  field: string;
}

/** HTTP status and body for anything thrown while serving a REST call. */
export function restErrorOf(err: unknown): { status: number; body: RestError } {
  const ce = err instanceof ConnectError ? err : toConnectError(err);
  return {
    status: HTTP_STATUS[ce.code],
    body: { code: codeToString(ce.code), message: ce.rawMessage, field: ce.metadata.get(FIELD_METADATA_KEY) ?? "" },
  };
}

/** A REST error built directly, for failures found before any RPC runs (415, 413, 404, 405). */
export function restError(status: number, code: string, message: string, field = ""): { status: number; body: RestError } {
  return { status, body: { code, message, field } };
}
