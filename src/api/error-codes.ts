import { Code, ConnectError } from "@connectrpc/connect";
import { CronError, type CronErrorCode } from "../domain/cron-error.js";

/** Metadata key carrying the offending field of an invalid-argument error. */
export const FIELD_METADATA_KEY = "cronmesh-field";

const TO_CONNECT: Record<CronErrorCode, Code> = {
  invalid_argument: Code.InvalidArgument,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  version_conflict: Code.Aborted,
  failed_precondition: Code.FailedPrecondition,
  resource_exhausted: Code.ResourceExhausted,
  unauthenticated: Code.Unauthenticated,
  permission_denied: Code.PermissionDenied,
  unavailable: Code.Unavailable,
  unimplemented: Code.Unimplemented,
  internal: Code.Internal,
};

/**
 * The longest error message and field sent back. Both may quote caller input (an unknown key, an
 * id), and gRPC carries them in headers, which peers cap (HTTP/2 commonly at 16 KiB of headers).
 */
const MAX_ERROR_TEXT = 1000;

/** The Connect error for anything thrown by a handler; CronErrors keep their code and field. */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  const cron = CronError.from(err);
  const metadata = new Headers();
  if (cron.field) metadata.set(FIELD_METADATA_KEY, headerSafe(capped(cron.field)));
  const message = cron.code === "internal" ? "internal error" : capped(cron.message);
  return new ConnectError(message, TO_CONNECT[cron.code], metadata, undefined, cron);
}

/**
 * The text shortened to {@link MAX_ERROR_TEXT}, and well-formed: a lone surrogate (a caller's
 * JSON key can hold one) becomes U+FFFD, as gRPC percent-encodes the message and
 * `encodeURIComponent` throws on a lone surrogate.
 */
function capped(text: string): string {
  const short = text.length > MAX_ERROR_TEXT ? `${text.slice(0, MAX_ERROR_TEXT)}...` : text;
  return Buffer.from(short).toString();
}

/**
 * A field path as a header value: a field can be any key a caller sent, and a header holds only
 * printable ASCII. Other bytes of its UTF-8 (and `%`) are percent-encoded, as gRPC encodes
 * `grpc-message`; the usual snake_case paths pass unchanged.
 */
function headerSafe(field: string): string {
  let out = "";
  for (const byte of Buffer.from(field)) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** HTTP status of each Connect code on the REST routes (as in grpc-gateway, with 409 for Aborted). */
export const HTTP_STATUS: Record<Code, number> = {
  [Code.Canceled]: 499,
  [Code.Unknown]: 500,
  [Code.InvalidArgument]: 400,
  [Code.DeadlineExceeded]: 504,
  [Code.NotFound]: 404,
  [Code.AlreadyExists]: 409,
  [Code.PermissionDenied]: 403,
  [Code.ResourceExhausted]: 429,
  [Code.FailedPrecondition]: 400,
  [Code.Aborted]: 409,
  [Code.OutOfRange]: 400,
  [Code.Unimplemented]: 501,
  [Code.Internal]: 500,
  [Code.Unavailable]: 503,
  [Code.DataLoss]: 500,
  [Code.Unauthenticated]: 401,
};
