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

/** The Connect error for anything thrown by a handler; CronErrors keep their code and field. */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  const cron = CronError.from(err);
  const metadata = new Headers();
  if (cron.field) metadata.set(FIELD_METADATA_KEY, cron.field);
  const message = cron.code === "internal" ? "internal error" : cron.message;
  return new ConnectError(message, TO_CONNECT[cron.code], metadata, undefined, cron);
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
