/**
 * How long calls may fail for want of the server, none of them answered, before the client is
 * replaced by a new one (see {@link createClientHealth}).
 */
export const REPLACE_CLIENT_AFTER_MS = 15_000;

/** What decides a replacement of the client. */
export interface ClientHealthState {
  /** When the current streak of calls failing for want of the server began (undefined: the last call was answered). */
  failingSince: number | undefined;
  /** When the client was last replaced (or created). */
  replacedAt: number;
}

/**
 * Whether to replace the client: its calls have failed for want of the server, none answered,
 * for at least `afterMs`, and it is not itself younger than that. A server away that long is not
 * helped by a new client, and not harmed by one either (it connects lazily, every `afterMs` at
 * most); a client whose pool went bad is.
 */
export function shouldReplaceClient(state: ClientHealthState, now: number, afterMs: number): boolean {
  return state.failingSince !== undefined && now - state.failingSince >= afterMs && now - state.replacedAt >= afterMs;
}

/** The health of one client, fed by the outcome of each call. */
export interface ClientHealth {
  /** A call was answered (an error of the server's own counts: it answered). */
  answered(): void;
  /**
   * A call failed for want of the server. When the client should be replaced now: how long its
   * calls have been failing (the replacement is then recorded); else undefined.
   */
  unavailable(): number | undefined;
}

/**
 * Tracks a client's calls. After a FerretDB restart in the cluster scenarios, one replica's
 * client failed every call with "read ECONNRESET" for minutes while the other replicas' clients,
 * same driver, same server, recovered within a second; as the leader, it fired nothing meanwhile.
 * A new client recovers at once.
 */
export function createClientHealth(now: () => number, afterMs = REPLACE_CLIENT_AFTER_MS): ClientHealth {
  const state: ClientHealthState = { failingSince: undefined, replacedAt: now() };
  return {
    answered: () => {
      state.failingSince = undefined;
    },
    unavailable: () => {
      const at = now();
      state.failingSince ??= at;
      if (!shouldReplaceClient(state, at, afterMs)) return undefined;
      const failingForMs = at - state.failingSince;
      state.replacedAt = at;
      state.failingSince = at;
      return failingForMs;
    },
  };
}
