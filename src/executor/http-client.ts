import type { Readable } from "node:stream";
import { Agent, request } from "undici";
import type { Clock } from "../domain/clock.js";
import type { OutgoingRequest } from "./outgoing-request.js";

/** At most this much of a response body is kept on the attempt. */
export const EXCERPT_BYTES = 1024;

/** What one HTTP attempt produced. */
export interface AttemptResponse {
  /** 0 when no response came. */
  statusCode: number;
  responseExcerpt: string;
  error: string;
  timedOut: boolean;
  cancelled: boolean;
  startedAt: number;
  finishedAt: number;
}

/** Sends requests through one pooled undici Agent. */
export interface HttpClient {
  send(req: OutgoingRequest, signal: AbortSignal): Promise<AttemptResponse>;
  /**
   * Requests that may be waiting for a free connection: those in flight beyond one origin's
   * connection count (0 means every request in flight can have its own connection).
   */
  backlog(): number;
  close(): Promise<void>;
}

/** Options of the pooled client. */
export interface HttpClientOptions {
  clock: Clock;
  /** Connections kept per origin. */
  connectionsPerOrigin: number;
}

/** Creates the HTTP client: keep-alive pool per origin, per-request timeout, abortable. */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  const agent = new Agent({ connections: options.connectionsPerOrigin, keepAliveTimeout: 30_000, pipelining: 1 });
  const { clock } = options;
  let inFlight = 0;
  return {
    backlog: () => Math.max(0, inFlight - options.connectionsPerOrigin),
    async send(req, signal) {
      const startedAt = clock.now();
      inFlight++;
      // One controller per attempt, aborted by the run's signal or the timeout: cheaper than
      // AbortSignal.any + AbortSignal.timeout, which showed up in burst profiles.
      const attempt = new AbortController();
      let timedOut = false;
      const timer = clock.setTimer(req.timeoutMs, () => {
        timedOut = true;
        attempt.abort();
      });
      const onCancel = () => attempt.abort();
      signal.addEventListener("abort", onCancel, { once: true });
      try {
        const res = await request(req.url, {
          dispatcher: agent,
          method: req.method as "POST",
          headers: req.headers,
          body: req.body,
          signal: attempt.signal,
          headersTimeout: req.timeoutMs,
          bodyTimeout: req.timeoutMs,
        });
        const responseExcerpt = await readExcerpt(res.body);
        return { statusCode: res.statusCode, responseExcerpt, error: "", timedOut: false, cancelled: false, startedAt, finishedAt: clock.now() };
      } catch (err) {
        return failure(err, { timedOut, cancelled: signal.aborted && !timedOut }, startedAt, clock.now());
      } finally {
        inFlight--;
        timer.cancel();
        signal.removeEventListener("abort", onCancel);
      }
    },
    close: () => agent.close(),
  };
}

/** Reads up to {@link EXCERPT_BYTES} of a body, then drops the rest (event-driven: no async iterator per response). */
function readExcerpt(body: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err?: Error) => {
      body.off("data", onData).off("end", done).off("error", done);
      body.destroy();
      if (err) reject(err);
      else resolve(Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString("utf8").replace(/\uFFFD+$/, ""));
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= EXCERPT_BYTES) done();
    };
    body.on("data", onData).on("end", done).on("error", done);
  });
}

function failure(err: unknown, flags: { timedOut: boolean; cancelled: boolean }, startedAt: number, finishedAt: number): AttemptResponse {
  const message = flags.timedOut ? "timed out" : flags.cancelled ? "cancelled" : describe(err);
  return { statusCode: 0, responseExcerpt: "", error: message, ...flags, startedAt, finishedAt };
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.cause?.code ?? e.code;
  const message = e.cause?.message ?? e.message ?? String(err);
  return code ? `${code}: ${message}` : message;
}
