import { Agent, type Dispatcher } from "undici";
import type { CancelSignal } from "../domain/cancellation.js";
import type { Clock, TimerHandle } from "../domain/clock.js";
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
  send(req: OutgoingRequest, signal: CancelSignal): Promise<AttemptResponse>;
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

/** Bodies up to this size are read to their end (and dropped past the excerpt) to keep the connection. */
const DRAIN_BYTES = 128 * 1024;

/** Parsed target URLs kept for reuse: a job calls the same URL at every slot. */
const MAX_CACHED_URLS = 10_000;

/**
 * Creates the HTTP client: keep-alive pool per origin, per-request timeout, abortable. Requests go
 * through undici's dispatcher interface with a handler of our own: no response stream, no async
 * resource, no per-request abort signal, which together cost more than the request itself in
 * busy seconds.
 */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  const agent = new Agent({ connections: options.connectionsPerOrigin, keepAliveTimeout: 30_000, pipelining: 1 });
  const { clock } = options;
  const urls = new Map<string, { origin: string; path: string }>();
  const parse = (raw: string) => {
    let url = urls.get(raw);
    if (!url) {
      const u = new URL(raw);
      url = { origin: u.origin, path: `${u.pathname}${u.search}` };
      if (urls.size >= MAX_CACHED_URLS) urls.delete(urls.keys().next().value!);
      urls.set(raw, url);
    }
    return url;
  };
  let inFlight = 0;
  return {
    backlog: () => Math.max(0, inFlight - options.connectionsPerOrigin),
    send(req, signal) {
      inFlight++;
      return new Promise<AttemptResponse>((resolve) => {
        const attempt = startAttempt(clock, signal, (res) => {
          inFlight--;
          resolve(res);
        });
        try {
          const { origin, path } = parse(req.url);
          agent.dispatch(
            { origin, path, method: req.method as "POST", headers: req.headers, body: req.body ?? null, headersTimeout: req.timeoutMs, bodyTimeout: req.timeoutMs },
            attempt.handler,
          );
          attempt.armTimeout(req.timeoutMs);
        } catch (err) {
          attempt.fail(err);
        }
      });
    },
    close: () => agent.close(),
  };
}

/** One attempt in flight: its undici handler, its timeout and the run's cancel signal. */
function startAttempt(clock: Clock, signal: CancelSignal, done: (res: AttemptResponse) => void) {
  const startedAt = clock.now();
  let controller: Dispatcher.DispatchController | undefined;
  let abortWith: Error | undefined;
  let settled = false;
  let timedOut = false;
  let statusCode = 0;
  const chunks: Buffer[] = [];
  let size = 0;
  let timer: TimerHandle | undefined;
  let unsubscribe = () => undefined as void;
  const finish = (res: AttemptResponse) => {
    if (settled) return;
    settled = true;
    timer?.cancel();
    unsubscribe();
    done(res);
  };
  const excerpt = () => {
    if (size === 0) return "";
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    // A whole body has no character cut in two; a cut one drops the broken tail.
    if (size <= EXCERPT_BYTES) return body.toString("utf8");
    return body.subarray(0, EXCERPT_BYTES).toString("utf8").replace(/\uFFFD+$/, "");
  };
  const succeed = () => finish({ statusCode, responseExcerpt: excerpt(), error: "", timedOut: false, cancelled: false, startedAt, finishedAt: clock.now() });
  const fail = (err: unknown) => finish(failure(err, { timedOut, cancelled: signal.cancelled && !timedOut }, startedAt, clock.now()));
  /** Gives up the attempt now; the request is aborted as soon as undici lets us (a queued one when it starts). */
  const abort = (reason: Error) => {
    fail(reason);
    abortWith = reason;
    controller?.abort(reason);
  };
  unsubscribe = signal.onCancel(() => abort(new Error("cancelled")));
  const handler: Dispatcher.DispatchHandler = {
    onRequestStart(c) {
      controller = c;
      if (abortWith) c.abort(abortWith);
    },
    onResponseStart(_c, status) {
      statusCode = status;
    },
    onResponseData(c, chunk) {
      if (size < EXCERPT_BYTES) chunks.push(chunk);
      size += chunk.length;
      // The excerpt is all we keep. A short rest is read and dropped, so the connection serves
      // the next request; a long one is not worth the wait: the connection is closed instead.
      if (size > DRAIN_BYTES && !settled) {
        succeed();
        c.abort(new Error("response excerpt complete"));
      }
    },
    onResponseEnd: () => succeed(),
    onResponseError: (_c, err) => fail(err),
  };
  return {
    handler,
    fail,
    armTimeout(ms: number) {
      if (settled) return;
      timer = clock.setTimer(ms, () => {
        timedOut = true;
        abort(new Error("timed out"));
      });
    },
  };
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
