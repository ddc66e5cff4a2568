import { CronError } from "../domain/cron-error.js";
import type { AuthMode, Identity } from "./identity.js";

/** Turns a request's headers into the caller's identity. */
export interface Authenticator {
  readonly mode: AuthMode;
  /** The `WWW-Authenticate` challenge of a 401 answer; "" when authentication is off. */
  readonly challenge: string;
  /**
   * The caller's identity. Throws a CronError: `unauthenticated` for missing or invalid
   * credentials (its message never holds the credential), `unavailable` when a key source cannot
   * be reached.
   */
  authenticate(headers: Headers): Promise<Identity>;
}

/** The realm named in every challenge. */
export const REALM = "cronmesh";

/** An `unauthenticated` error with a message that says what is wrong, never what was sent. */
export function unauthenticated(problem: string): CronError {
  return new CronError("unauthenticated", problem);
}
