import type { Interceptor } from "@connectrpc/connect";
import { randomUUID } from "node:crypto";

/**
 * Header carrying a REST stream's ticket to its in-process RPC. Only the transcoder sets it, on
 * its own transport: callers' headers pass an allow-list that does not include it.
 */
const TICKET_HEADER = "x-cronmesh-rest-stream";

/** One REST stream's ticket. */
export interface StreamTicket {
  /** Headers to send with the RPC. */
  header: [string, string];
  /** Resolves once the RPC has passed every interceptor (authenticated, authorized, not rate limited). */
  admitted: Promise<void>;
  isAdmitted(): boolean;
  /** Forgets the ticket (call when the stream ends). */
  release(): void;
}

/**
 * Tells the REST transcoder when a server-streaming RPC was admitted. A Connect stream answers only
 * with its first message (or error), so a watch with nothing to report yet cannot be told from
 * one still being checked; this interceptor, innermost on the transcoder's transport, can: until
 * it has run, a refusal is still an ordinary error response (401, 403, 429) rather than a line in
 * a stream already answered 200.
 */
export function createStreamAdmission(): { interceptor: Interceptor; ticket(): StreamTicket } {
  const waiting = new Map<string, () => void>();
  return {
    interceptor: (next) => (req) => {
      const id = req.header.get(TICKET_HEADER);
      if (id) waiting.get(id)?.();
      return next(req);
    },
    ticket() {
      const id = randomUUID();
      let admitted = false;
      const promise = new Promise<void>((resolve) => waiting.set(id, () => ((admitted = true), resolve())));
      return { header: [TICKET_HEADER, id], admitted: promise, isAdmitted: () => admitted, release: () => void waiting.delete(id) };
    },
  };
}
