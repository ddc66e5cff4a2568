import { Code, ConnectError } from "@connectrpc/connect";

/** Metadata key naming the offending field of an InvalidArgument answer (src/api/error-codes.ts). */
export const FIELD_METADATA_KEY = "cronmesh-field";

/** An API error as the page shows it. */
export interface ShownError {
  /** Short headline: "Invalid input", "Not found", … */
  title: string;
  /** The server's message, or what the browser said when no answer came. */
  message: string;
  /** The proto field at fault (InvalidArgument), e.g. `schedule` or `target.url`. */
  field?: string;
  code: Code;
}

const TITLES: Partial<Record<Code, string>> = {
  [Code.InvalidArgument]: "Invalid input",
  [Code.NotFound]: "Not found",
  [Code.AlreadyExists]: "Already exists",
  [Code.Aborted]: "Changed by someone else",
  [Code.FailedPrecondition]: "Not possible now",
  [Code.PermissionDenied]: "Not allowed",
  [Code.Unauthenticated]: "Sign-in needed",
  [Code.ResourceExhausted]: "Too many requests",
  [Code.Unavailable]: "Service unavailable",
  [Code.DeadlineExceeded]: "Timed out",
  [Code.Unimplemented]: "Not supported by this server",
  [Code.Internal]: "Server error",
  [Code.Unknown]: "Request failed",
  [Code.Canceled]: "Cancelled",
};

/**
 * Anything a call threw, as a readable error: the Connect code as a headline, the server's
 * message without the "[code]" prefix, and the field for InvalidArgument (from the error's
 * metadata, or from a `field: message` prefix when the metadata was not exposed).
 */
export function describeError(err: unknown): ShownError {
  const ce = ConnectError.from(err);
  const shown: ShownError = { title: TITLES[ce.code] ?? Code[ce.code] ?? "Error", message: ce.rawMessage || "no message", code: ce.code };
  if (ce.code === Code.InvalidArgument) {
    const field = ce.metadata.get(FIELD_METADATA_KEY) || /^([a-z_][a-z0-9_.]*):\s/.exec(ce.rawMessage)?.[1];
    if (field) shown.field = field;
  }
  if (ce.code === Code.Unknown && /fetch|network/i.test(ce.rawMessage)) {
    shown.title = "Cannot reach the server";
  }
  return shown;
}

/** One line for a toast or a table cell: "Invalid input — schedule: expected 5 or 6 fields". */
export function errorLine(e: ShownError): string {
  const msg = e.field && !e.message.startsWith(`${e.field}:`) ? `${e.field}: ${e.message}` : e.message;
  return `${e.title} — ${msg}`;
}
