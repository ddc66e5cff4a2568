import { Agent, type Dispatcher } from "undici";
import type { CancelSignal } from "../domain/cancellation.js";
import type { Clock, TimerHandle } from "../domain/clock.js";
import { createDelays, type Delays } from "../runtime/delay-queue.js";
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
  const timeouts = createDelays(clock);
  let inFlight = 0;
  const settled = () => void inFlight--;
  return {
    backlog: () => Math.max(0, inFlight - options.connectionsPerOrigin),
    send(req, signal) {
      inFlight++;
      return new Promise<AttemptResponse>((resolve) => {
        const attempt = new Attempt(clock, signal, resolve, settled);
        try {
          const { origin, path } = parse(req.url);
          // No undici timeouts: the attempt's own covers the whole exchange, and each undici one
          // would cost a timer per request.
          agent.dispatch({ origin, path, method: req.method as "POST", headers: req.headers, body: req.body ?? null, headersTimeout: 0, bodyTimeout: 0 }, attempt);
          attempt.armTimeout(timeouts, req.timeoutMs);
        } catch (err) {
          attempt.fail(err);
        }
      });
    },
    close: () => agent.close(),
  };
}

/**
 * One attempt in flight, as undici's handler: its response, its timeout and the run's cancel
 * signal. A class, not a set of closures: one object per request in busy seconds.
 */
class Attempt implements Dispatcher.DispatchHandler {
  private readonly startedAt: number;
  private controller: Dispatcher.DispatchController | undefined;
  private abortWith: Error | undefined;
  private settled = false;
  private timedOut = false;
  private statusCode = 0;
  private chunks: Buffer[] | undefined;
  private size = 0;
  private timer: TimerHandle | undefined;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly clock: Clock,
    private readonly signal: CancelSignal,
    private readonly resolve: (res: AttemptResponse) => void,
    private readonly onSettled: () => void,
  ) {
    this.startedAt = clock.now();
    this.unsubscribe = NO_UNSUBSCRIBE;
    this.unsubscribe = signal.onCancel(() => this.abort(new Error("cancelled")));
  }

  /** Arms the attempt's timeout (unless it already ended). */
  armTimeout(timeouts: Delays, ms: number): void {
    if (this.settled) return;
    this.timer = timeouts.after(ms, () => {
      this.timedOut = true;
      this.abort(new Error("timed out"));
    });
  }

  fail(err: unknown): void {
    const cancelled = this.signal.cancelled && !this.timedOut;
    this.finish(failure(err, { timedOut: this.timedOut, cancelled }, this.startedAt, this.clock.now()));
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.abortWith) controller.abort(this.abortWith);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number): void {
    this.statusCode = statusCode;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.size < EXCERPT_BYTES) (this.chunks ??= []).push(chunk);
    this.size += chunk.length;
    // The excerpt is all we keep. A short rest is read and dropped, so the connection serves
    // the next request; a long one is not worth the wait: the connection is closed instead.
    if (this.size > DRAIN_BYTES && !this.settled) {
      this.succeed();
      controller.abort(new Error("response excerpt complete"));
    }
  }

  onResponseEnd(): void {
    this.succeed();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.fail(err);
  }

  private succeed(): void {
    const { statusCode, startedAt } = this;
    this.finish({ statusCode, responseExcerpt: this.excerpt(), error: "", timedOut: false, cancelled: false, startedAt, finishedAt: this.clock.now() });
  }

  /** Gives up the attempt now; the request is aborted as soon as undici lets us (a queued one when it starts). */
  private abort(reason: Error): void {
    this.fail(reason);
    this.abortWith = reason;
    this.controller?.abort(reason);
  }

  private finish(res: AttemptResponse): void {
    if (this.settled) return;
    this.settled = true;
    this.timer?.cancel();
    this.unsubscribe();
    this.onSettled();
    this.resolve(res);
  }

  private excerpt(): string {
    if (!this.chunks) return "";
    const body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    // A whole body has no character cut in two; a cut one drops the broken tail.
    if (this.size <= EXCERPT_BYTES) return body.toString("utf8");
    return body.subarray(0, EXCERPT_BYTES).toString("utf8").replace(/\uFFFD+$/, "");
  }
}

const NO_UNSUBSCRIBE = () => undefined;

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
