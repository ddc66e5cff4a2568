import { Code, ConnectError } from "@connectrpc/connect";
import { CommanderError } from "commander";
import { FIELD_METADATA_KEY, toConnectError } from "../api/error-codes.js";
import { CronError } from "../domain/cron-error.js";

/** The exit status of every outcome of a `cronmesh` command; the README lists them. */
export const ExitCode = {
  Ok: 0,
  /** Anything not listed below: a server fault, an unexpected error. */
  Failure: 1,
  /** The command line is wrong: unknown command or option, missing or malformed argument. */
  Usage: 2,
  /** The input was refused: a field of a job file or of the request (the message names it). */
  InvalidInput: 3,
  NotFound: 4,
  /** Already exists, or the job changed since it was read (a version conflict). */
  Conflict: 5,
  /** Not allowed in the current state (e.g. a dead letter redriven twice, a cancelled job triggered). */
  FailedPrecondition: 6,
  /** No token, or one the server does not accept. */
  Unauthenticated: 7,
  PermissionDenied: 8,
  /** The server cannot be reached, is not ready, or asks to slow down: worth retrying later. */
  Unavailable: 9,
  /** A run waited for (`--wait`) ended other than succeeded. */
  RunNotSucceeded: 10,
  /** A call or a `--wait` ran out of time. */
  Timeout: 11,
} as const;

/** One of the {@link ExitCode} values. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

const BY_CONNECT_CODE: Partial<Record<Code, ExitCode>> = {
  [Code.InvalidArgument]: ExitCode.InvalidInput,
  [Code.OutOfRange]: ExitCode.InvalidInput,
  [Code.NotFound]: ExitCode.NotFound,
  [Code.AlreadyExists]: ExitCode.Conflict,
  [Code.Aborted]: ExitCode.Conflict,
  [Code.FailedPrecondition]: ExitCode.FailedPrecondition,
  [Code.Unauthenticated]: ExitCode.Unauthenticated,
  [Code.PermissionDenied]: ExitCode.PermissionDenied,
  [Code.Unavailable]: ExitCode.Unavailable,
  [Code.ResourceExhausted]: ExitCode.Unavailable,
  [Code.DeadlineExceeded]: ExitCode.Timeout,
};

/** Words for a Connect code in an error line: "not found", "invalid argument"; Aborted is a version conflict. */
function codeWords(code: Code): string {
  return code === Code.Aborted ? "conflict" : Code[code].replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
}

/** Whether the call failed before reaching the server: refused, unresolvable, reset. */
function unreachable(err: ConnectError): boolean {
  const cause = err.cause as { code?: unknown } | undefined;
  return err.code === Code.Unavailable && typeof cause?.code === "string" && /^E[A-Z]+$/.test(cause.code);
}

/** What a failed command reports: its exit status and one line for people. */
export interface Failure {
  exitCode: ExitCode;
  message: string;
}

/**
 * The exit status and one-line message of anything a command throws (`server`: the base URL
 * called, named when it cannot be reached). Commander's own errors are
 * usage errors (their message was printed by commander; help asked for is not an error); server
 * and local input errors map by their Connect code, and an invalid argument names its field,
 * which travels in the error metadata under {@link FIELD_METADATA_KEY}.
 */
export function failureOf(err: unknown, server: string): Failure {
  if (err instanceof CommanderError) return { exitCode: err.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage, message: "" };
  const connect = err instanceof CronError ? toConnectError(err) : ConnectError.from(err);
  const exitCode = BY_CONNECT_CODE[connect.code] ?? ExitCode.Failure;
  if (unreachable(connect)) return { exitCode, message: `cannot reach the server at ${server}: ${connect.rawMessage}` };
  return { exitCode, message: `${codeWords(connect.code)}: ${withField(connect)}` };
}

/** The error's message on one line, naming the field it is about when the message does not already. */
function withField(err: ConnectError): string {
  const message = err.rawMessage.replace(/\s+/g, " ").trim();
  const field = err.metadata.get(FIELD_METADATA_KEY);
  if (!field || message.includes(`${field}:`)) return message;
  return `${field}: ${message}`;
}
