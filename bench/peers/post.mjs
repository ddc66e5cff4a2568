// What the contestants of bench/peers that are not cronmesh share: the request every contestant
// sends (cronmesh's own POST, with its six headers and values of the same lengths) and the client
// that sends it (undici's dispatch(), the interface cronmesh itself uses, over as many connections).
import { hostname } from "node:os";
import { Agent } from "undici";

/** Connections to the sink: the same for every contestant (cronmesh runs with HTTP_CONNECTIONS at this). */
export const CONNECTIONS = 256;

/** The node id of this process (os.hostname() is a system call: computed once). */
const NODE_ID = `${hostname()}-${process.pid}`;

/**
 * The headers of cronmesh's request for job number `i` and slot `slot` (ISO 8601), with values of
 * the same lengths, so the sink parses as much for every contestant.
 * @param {number} i
 * @param {string} slot
 * @returns {Record<string, string>}
 */
export function serviceLikeHeaders(i, slot) {
  const runId = `run_${String(i).padStart(26, "0")}`;
  return {
    "idempotency-key": runId,
    "x-cronmesh-run-id": runId,
    "x-cronmesh-job-id": `job_${String(i).padStart(26, "0")}`,
    "x-cronmesh-scheduled-at": slot,
    "x-cronmesh-attempt": "1",
    "x-cronmesh-node": NODE_ID,
  };
}

/**
 * A client POSTing cronmesh's request to `sinkUrl`: `post(i, slotMs)` resolves once the response
 * was read, and rejects on a transport error.
 * @param {string} sinkUrl
 */
export function createPoster(sinkUrl) {
  const agent = new Agent({ connections: CONNECTIONS, keepAliveTimeout: 30_000 });
  const origin = new URL(sinkUrl).origin;
  /** @type {(i: number, slotMs: number) => Promise<void>} */
  const post = (i, slotMs) =>
    new Promise((resolve, reject) => {
      agent.dispatch(
        { origin, path: "/peer", method: "POST", headers: serviceLikeHeaders(i, new Date(slotMs).toISOString()) },
        {
          onRequestStart: () => undefined,
          onResponseStart: () => undefined,
          onResponseData: () => undefined,
          onResponseEnd: () => resolve(),
          onResponseError: (_c, err) => reject(err),
        },
      );
    });
  return { post, close: () => agent.close() };
}

/**
 * Serves a contestant process's side of the bench protocol over IPC: `{ type: "schedule", ... }`
 * is passed to `schedule` (answered `{ type: "scheduled" }` once every job is set up), `{ type:
 * "stop" }` to `stop` (answered `{ type: "stopped", ...counts }`, then the process exits). The
 * `post` handed to `schedule` sends job `i`'s request for slot `slotMs` and resolves once it is
 * answered; failures are counted, never thrown (a contestant that cannot deliver shows it at the sink).
 * @param {{ schedule(msg: any, post: (i: number, slotMs: number) => Promise<void>): Promise<void>; stop(): Promise<void> }} contestant
 */
export function serveContestant(contestant) {
  let poster;
  const counts = { sent: 0, failed: 0 };
  const post = (i, slotMs) => {
    counts.sent++;
    return poster.post(i, slotMs).catch(() => void counts.failed++);
  };
  process.on("message", async (msg) => {
    if (msg.type === "schedule") {
      poster = createPoster(msg.sinkUrl);
      await contestant.schedule(msg, post);
      process.send({ type: "scheduled" });
    }
    if (msg.type === "stop") {
      await contestant.stop();
      await poster?.close();
      process.send({ type: "stopped", ...counts }, () => process.exit(0));
    }
  });
  // The bench died without stopping us: do not outlive it.
  process.on("disconnect", () => process.exit(0));
  process.send({ type: "ready" });
}
