import {
  MongoBulkWriteError,
  MongoClientClosedError,
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoOperationTimeoutError,
  MongoServerClosedError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  type WriteError,
} from "mongodb";
import { CronError } from "../../domain/cron-error.js";

/** Server error code of a unique index violation. */
const DUPLICATE_KEY = 11000;

/**
 * Server codes meaning "the server is there but cannot serve right now" (shutting down, stepping
 * down, not primary, host unreachable, network timeout, exceeded time limit).
 */
const UNAVAILABLE_SERVER_CODES = new Set([6, 7, 50, 89, 91, 189, 10107, 11600, 11602, 13435, 13436]);

/** True for a duplicate-key failure (single write or the only failure kind of a bulk write). */
export function isDuplicateKey(err: unknown): boolean {
  if (err instanceof MongoBulkWriteError) {
    const errors = writeErrorsOf(err);
    return errors.length > 0 && errors.every((e) => e.code === DUPLICATE_KEY);
  }
  return err instanceof MongoError && err.code === DUPLICATE_KEY;
}

/** The per-document failures of a bulk write, always as an array. */
function writeErrorsOf(err: MongoBulkWriteError): WriteError[] {
  const errors = err.writeErrors as WriteError | WriteError[] | undefined;
  if (errors === undefined) return [];
  return Array.isArray(errors) ? errors : [errors];
}

/**
 * Socket error codes of Node itself. The driver lets some through unwrapped: a write on a pooled
 * connection whose server just died fails with a plain EPIPE error, not a MongoNetworkError.
 */
const SOCKET_ERROR_CODES = new Set(["EPIPE", "ECONNRESET", "ECONNREFUSED", "ECONNABORTED", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH"]);

/** True when the error says the database cannot be reached or cannot serve at the moment. */
function isConnectionProblem(err: unknown): boolean {
  if (!(err instanceof MongoError) && err instanceof Error && SOCKET_ERROR_CODES.has((err as NodeJS.ErrnoException).code ?? "")) return true;
  if (
    err instanceof MongoNetworkError ||
    err instanceof MongoServerSelectionError ||
    err instanceof MongoTopologyClosedError ||
    err instanceof MongoNotConnectedError ||
    err instanceof MongoOperationTimeoutError ||
    err instanceof MongoServerClosedError ||
    err instanceof MongoClientClosedError
  ) {
    return true;
  }
  return err instanceof MongoError && typeof err.code === "number" && UNAVAILABLE_SERVER_CODES.has(err.code);
}

/**
 * Translates anything a driver call threw into a {@link CronError}: connection problems become
 * `unavailable`, a stray duplicate key `already_exists`, everything else `internal`.
 * CronErrors pass through unchanged.
 */
export function toCronError(err: unknown): CronError {
  if (err instanceof CronError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (isConnectionProblem(err)) {
    return new CronError("unavailable", `database unavailable: ${message}`, undefined, { cause: err });
  }
  if (isDuplicateKey(err)) return new CronError("already_exists", message, undefined, { cause: err });
  return new CronError("internal", `database error: ${message}`, undefined, { cause: err });
}

/**
 * The input indexes a bulk insert refused as duplicates. Rethrows the error unless it is a bulk
 * write error made of duplicate-key failures only.
 */
export function duplicateIndexesOf(err: unknown): Set<number> {
  if (!(err instanceof MongoBulkWriteError)) throw err;
  const errors = writeErrorsOf(err);
  if (errors.length === 0 || errors.some((e) => e.code !== DUPLICATE_KEY)) throw err;
  return new Set(errors.map((e) => e.index));
}
