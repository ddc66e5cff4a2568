import type { LookupFunction } from "node:net";
import { Agent, type Dispatcher } from "undici";
import type { CancelSignal } from "../domain/cancellation.js";
import type { Clock, TimerHandle } from "../domain/clock.js";
import { createOutboundPolicy, type OutboundPolicy } from "../domain/outbound-policy.js";
import { createDelays, type Delays } from "../runtime/delay-queue.js";
import { guardedLookup, OutboundDenied } from "./outbound-guard.js";
import type { OutgoingRequest } from "./outgoing-request.js";
import { MAX_REDIRECTS, nextHop } from "./redirects.js";

/** At most this much of a response body is kept on the attempt, unless the client or the request says otherwise. */
export const EXCERPT_BYTES = 1024;
/** The most any excerpt keeps: 64 KiB, under the bytes read to keep a connection (see DRAIN_BYTES). */
export const MAX_EXCERPT_BYTES = 64 * 1024;

/** What one HTTP attempt produced. */
export interface AttemptResponse {
  /** 0 when no response came. */
  statusCode: number;
  responseExcerpt: string;
  error: string;
  timedOut: boolean;
  cancelled: boolean;
  /** The outbound policy refused an address (the target's, a redirect's, or one a name resolved to). */
  refused: boolean;
  /** Redirects followed before the answer (or the failure). */
  redirects: number;
  startedAt: number;
  finishedAt: number;
}

/** Sends requests through one pooled undici Agent. */
export interface HttpClient {
  send(req: OutgoingRequest, signal: CancelSignal): Promise<AttemptResponse>;
  /**
   * Whether requests are leaving: one handed to undici is not written yet (it waits for a
   * connection, or for its connection's next turn), and a request was handed over or written
   * within {@link SEND_STALL_MS}. Requests held up longer (a slow connect, every connection busy
   * with a slow target) do not count: nothing is leaving then.
   */
  sending(): boolean;
  close(): Promise<void>;
}

/** Options of the pooled client. */
export interface HttpClientOptions {
  clock: Clock;
  /** Connections kept per origin. */
  connectionsPerOrigin: number;
  /** Which addresses may be called (default: the built-in deny list). */
  outbound?: OutboundPolicy;
  /** Resolves host names (default: `dns.lookup`); its answers are checked by `outbound`. */
  lookup?: LookupFunction;
  /** Bytes of each response body kept when a request sets no limit of its own (default {@link EXCERPT_BYTES}). */
  excerptBytes?: number;
}

/**
 * How long unwritten requests count as leaving after the last request was handed over or written.
 * While a busy slot's requests go out, one leaves every few hundred microseconds, and the last ones
 * wait for a response to free their connection (a few ms); a longer pause means they are stuck.
 */
export const SEND_STALL_MS = 20;

/** Bodies up to this size are read to their end (and dropped past the excerpt) to keep the connection. */
const DRAIN_BYTES = 128 * 1024;

/** Parsed target URLs kept for reuse: a job calls the same URL at every slot. */
const MAX_CACHED_URLS = 10_000;

/**
 * Creates the HTTP client: keep-alive pool per origin, per-request timeout, abortable, every
 * address checked by the outbound policy (IP literals before sending, resolved names when
 * connecting). Requests go through undici's dispatcher interface with a handler of our own: no
 * response stream, no async resource, no per-request abort signal, which together cost more than
 * the request itself in busy seconds.
 */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  const outbound = options.outbound ?? createOutboundPolicy();
  const agent = new Agent({
    connections: options.connectionsPerOrigin,
    keepAliveTimeout: 30_000,
    pipelining: 1,
    connect: { lookup: guardedLookup(outbound, options.lookup) },
  });
  const { clock } = options;
  const urls = new Map<string, ParsedUrl>();
  const parse = (raw: string) => {
    let url = urls.get(raw);
    if (!url) {
      const u = new URL(raw);
      url = { origin: u.origin, path: `${u.pathname}${u.search}`, hostname: u.hostname, denied: outbound.hostDenied(u.hostname) };
      if (urls.size >= MAX_CACHED_URLS) urls.delete(urls.keys().next().value!);
      urls.set(raw, url);
    }
    return url;
  };
  /** Requests handed to undici and not written yet, and when one last was handed over or written. */
  let unsent = 0;
  let lastLeftAt = -Infinity;
  const hops: Hops = {
    dispatch(req, handler) {
      const { origin, path, hostname, denied } = parse(req.url);
      if (denied) throw new OutboundDenied(hostname);
      unsent++;
      lastLeftAt = clock.now();
      handler.handedOver();
      // No undici timeouts: the attempt's own covers the whole exchange, and each undici one
      // would cost a timer per request.
      agent.dispatch({ origin, path, method: req.method as "POST", headers: req.headers, body: req.body ?? null, headersTimeout: 0, bodyTimeout: 0 }, handler);
    },
    left() {
      unsent--;
      lastLeftAt = clock.now();
    },
  };
  const timeouts = createDelays(clock);
  const excerptBytes = options.excerptBytes ?? EXCERPT_BYTES;
  return {
    sending: () => unsent > 0 && clock.now() - lastLeftAt < SEND_STALL_MS,
    send(req, signal) {
      return new Promise<AttemptResponse>((resolve) => {
        const attempt = new Attempt(clock, hops, req, signal, resolve, Math.min(req.excerptBytes || excerptBytes, MAX_EXCERPT_BYTES));
        attempt.start();
        attempt.armTimeout(timeouts, req.timeoutMs);
      });
    },
    close: () => agent.close(),
  };
}

/** A target URL as dispatched, with the outbound policy's verdict on its host as written. */
interface ParsedUrl {
  origin: string;
  path: string;
  hostname: string;
  denied: boolean;
}

/** How an attempt sends each of its requests (the first, then one per redirect); throws when the policy refuses it. */
interface Hops {
  /** Hands the request to undici (calling `handler.handedOver()` first), unless the policy refuses it. */
  dispatch(req: OutgoingRequest, handler: Attempt): void;
  /** A request handed over was written to its connection, or ended unwritten. */
  left(): void;
}

/**
 * One attempt in flight, as undici's handler: its response, its timeout, the run's cancel signal
 * and, when the target follows redirects, its hops (the same handler serves each hop's request
 * in turn). A class, not a set of closures: one object per request in busy seconds.
 */
class Attempt implements Dispatcher.DispatchHandler {
  private readonly startedAt: number;
  /** The controller of the current hop's request (undefined until it starts). */
  private controller: Dispatcher.DispatchController | undefined;
  private abortWith: Error | undefined;
  private settled = false;
  private timedOut = false;
  /** The current hop's request was handed to undici and not written yet. */
  private unwritten = false;
  private statusCode = 0;
  private chunks: Buffer[] | undefined;
  private size = 0;
  private timer: TimerHandle | undefined;
  private readonly unsubscribe: () => void;
  private redirects = 0;
  /** The next hop's request, once the current answer is a redirect to follow. */
  private next: OutgoingRequest | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly hops: Hops,
    private request: OutgoingRequest,
    private readonly signal: CancelSignal,
    private readonly resolve: (res: AttemptResponse) => void,
    /** Bytes of the body kept as the excerpt. */
    private readonly excerptLimit: number,
  ) {
    this.startedAt = clock.now();
    this.unsubscribe = NO_UNSUBSCRIBE;
    this.unsubscribe = signal.onCancel(() => this.abort(new Error("cancelled")));
  }

  /** Sends the current hop's request (the attempt fails at once when the outbound policy refuses it). */
  start(): void {
    try {
      this.hops.dispatch(this.request, this);
    } catch (err) {
      this.fail(err);
    }
  }

  /** Arms the attempt's timeout, covering every hop (unless the attempt already ended). */
  armTimeout(timeouts: Delays, ms: number): void {
    if (this.settled) return;
    this.timer = timeouts.after(ms, () => {
      this.timedOut = true;
      this.abort(new Error("timed out"));
    });
  }

  fail(err: unknown): void {
    const cancelled = this.signal.cancelled && !this.timedOut;
    const refused = err instanceof OutboundDenied || (err as { cause?: unknown } | undefined)?.cause instanceof OutboundDenied;
    this.finish(failure(err, { timedOut: this.timedOut, cancelled, refused, redirects: this.redirects }, this.startedAt, this.clock.now()));
  }

  /** Called by {@link Hops.dispatch} as the request is handed to undici. */
  handedOver(): void {
    this.unwritten = true;
  }

  /** undici calls it as it writes the request to a connection. */
  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.written();
    this.controller = controller;
    if (this.abortWith) controller.abort(this.abortWith);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    this.statusCode = statusCode;
    if (this.request.followRedirects && this.redirects < MAX_REDIRECTS) this.next = nextHop(this.request, statusCode, headers.location);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.size += chunk.length;
    if (this.next) {
      // A redirect's body is dropped; a long one is not worth reading: its connection is closed.
      if (this.size > DRAIN_BYTES) this.follow(controller);
      return;
    }
    if (this.size - chunk.length < this.excerptLimit) (this.chunks ??= []).push(chunk);
    // The excerpt is all we keep. A short rest is read and dropped, so the connection serves
    // the next request; a long one is not worth the wait: the connection is closed instead.
    if (this.size > DRAIN_BYTES && !this.settled) {
      this.succeed();
      controller.abort(new Error("response excerpt complete"));
    }
  }

  onResponseEnd(): void {
    if (this.next) this.follow();
    else this.succeed();
  }

  onResponseError(controller: Dispatcher.DispatchController | undefined, err: Error): void {
    // A hop left behind (its redirect body cut short) reports its abort: the attempt goes on.
    if (controller !== this.controller) return;
    this.fail(err);
  }

  /** Moves on to the next hop; `abandon` is the current hop's request, still reading its body. */
  private follow(abandon?: Dispatcher.DispatchController): void {
    if (this.settled) return;
    this.request = this.next!;
    this.next = undefined;
    this.redirects++;
    this.statusCode = 0;
    this.size = 0;
    this.controller = undefined;
    abandon?.abort(new Error("redirect body skipped"));
    this.start();
  }

  private succeed(): void {
    const { statusCode, startedAt, redirects } = this;
    this.finish({
      statusCode,
      responseExcerpt: this.excerpt(),
      error: "",
      timedOut: false,
      cancelled: false,
      refused: false,
      redirects,
      startedAt,
      finishedAt: this.clock.now(),
    });
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
    this.written();
    this.timer?.cancel();
    this.unsubscribe();
    this.resolve(res);
  }

  /** The current hop's request left undici's queue (written, or ended before it was). */
  private written(): void {
    if (!this.unwritten) return;
    this.unwritten = false;
    this.hops.left();
  }

  private excerpt(): string {
    if (!this.chunks) return "";
    const body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    // A whole body has no character cut in two; a cut one drops the broken tail.
    if (this.size <= this.excerptLimit) return body.toString("utf8");
    return body
      .subarray(0, this.excerptLimit)
      .toString("utf8")
      .replace(/\uFFFD+$/, "");
  }
}

const NO_UNSUBSCRIBE = () => undefined;

type FailureFlags = Pick<AttemptResponse, "timedOut" | "cancelled" | "refused" | "redirects">;

function failure(err: unknown, flags: FailureFlags, startedAt: number, finishedAt: number): AttemptResponse {
  const message = flags.timedOut ? "timed out" : flags.cancelled ? "cancelled" : flags.refused ? refusal(err) : describe(err);
  return { statusCode: 0, responseExcerpt: "", error: message, ...flags, startedAt, finishedAt };
}

/** The policy's own message, without an error code in front. */
function refusal(err: unknown): string {
  return err instanceof OutboundDenied ? err.message : (err as { cause: Error }).cause.message;
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.cause?.code ?? e.code;
  const message = e.cause?.message ?? e.message ?? String(err);
  return code ? `${code}: ${message}` : message;
}
