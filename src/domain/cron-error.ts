/**
 * The closed set of failure kinds cronmesh reports. Adapters translate driver errors into these;
 * only `api/` maps them onto Connect codes and HTTP statuses.
 */
export const CronErrorCode = {
  InvalidArgument: "invalid_argument",
  NotFound: "not_found",
  AlreadyExists: "already_exists",
  VersionConflict: "version_conflict",
  FailedPrecondition: "failed_precondition",
  ResourceExhausted: "resource_exhausted",
  /** No valid credentials (HTTP 401). */
  Unauthenticated: "unauthenticated",
  /** Valid credentials without the right to make the call (HTTP 403). */
  PermissionDenied: "permission_denied",
  Unavailable: "unavailable",
  Unimplemented: "unimplemented",
  Internal: "internal",
} as const;

/** One of the {@link CronErrorCode} values. */
export type CronErrorCode = (typeof CronErrorCode)[keyof typeof CronErrorCode];

/**
 * The one error type of cronmesh. `field` names the offending input field (snake_case path,
 * e.g. `job.schedule`) for invalid-argument errors.
 */
export class CronError extends Error {
  override readonly name = "CronError";

  constructor(
    readonly code: CronErrorCode,
    message: string,
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** An invalid-argument error whose message starts with the field it names. */
  static invalid(field: string, problem: string): CronError {
    return new CronError(CronErrorCode.InvalidArgument, `${field}: ${problem}`, field);
  }

  /** A not-found error for a resource kind and id. */
  static notFound(kind: string, id: string): CronError {
    return new CronError(CronErrorCode.NotFound, `${kind} ${JSON.stringify(id)} not found`);
  }

  /** Normalises anything thrown into a CronError; unknown errors become `internal`. */
  static from(err: unknown): CronError {
    if (err instanceof CronError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new CronError(CronErrorCode.Internal, message, undefined, { cause: err });
  }
}
