import http2 from "node:http2";
import net from "node:net";
import { Client } from "undici";

/** How a request reaches the server. */
export type Transport = "h1" | "h2" | "raw";

/** A request exactly as it goes on the wire (path, headers and body bytes unchecked). */
export interface WireRequest {
  transport: Transport;
  method: string;
  /** Path and query as sent, percent-encoding errors and all. */
  path: string;
  headers: Record<string, string>;
  body: Uint8Array;
  /** For `raw`: the whole request as bytes, request line included (the other fields are ignored). */
  raw?: Uint8Array;
  /** The RPC may answer with a stream that stays open: an open stream after the headers is an answer. */
  streaming?: boolean;
}

/** What came back. `status` 0 means no HTTP answer at all. */
export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  trailers: Record<string, string>;
  /** A streaming answer that was still open when the client stopped reading. */
  open: boolean;
  /** Why no answer came (a transport error), when status is 0. */
  error?: string;
  /** Raw connections: how many bytes had been written when the answer began. */
  written?: number;
}

/** How long a streaming answer is read before the client hangs up: an open stream is an answer. */
const STREAM_PEEK_MS = 150;
/**
 * Errors of a request that met a closing HTTP/2 session, not an answer to the request itself. A
 * refused stream was not processed and may be sent again (RFC 9113 §8.7): the server refuses the
 * streams a client opened after it decided to end the session (e.g. for a header block too large).
 */
const SESSION_GONE = /ENHANCE_YOUR_CALM|REFUSED_STREAM|GOAWAY|INVALID_SESSION|session.*(closed|destroyed)/i;
/** How long a raw connection waits for an answer after its last byte (the server may be waiting for more). */
const RAW_PATIENCE_MS = 100;
/** No request here should take longer than this to be answered. */
const ANSWER_TIMEOUT_MS = 15_000;

/** Sends wire requests to one server over HTTP/1.1 (undici), HTTP/2 (prior knowledge) or a raw socket. */
export interface WireClient {
  send(req: WireRequest): Promise<WireResponse>;
  close(): Promise<void>;
}

/** A client of the server at `baseUrl` (http://host:port). */
export function createWireClient(baseUrl: string): WireClient {
  const h1 = new Client(baseUrl, { pipelining: 1, headersTimeout: ANSWER_TIMEOUT_MS, bodyTimeout: ANSWER_TIMEOUT_MS });
  let session: http2.ClientHttp2Session | undefined;
  const h2 = () => {
    if (!session || session.closed || session.destroyed) {
      const s = http2.connect(baseUrl);
      s.on("error", () => undefined);
      // The server ends sessions that misbehave too often (Node's limits on refused streams): start afresh.
      s.on("goaway", () => session === s && (session = undefined));
      session = s;
    }
    return session;
  };
  /** A request that met a session already told to go away is sent again on a new session. */
  const sendOnH2 = async (req: WireRequest) => {
    const res = await sendH2(h2(), req);
    if (!SESSION_GONE.test(res.error ?? "")) return res;
    session = undefined;
    return sendH2(h2(), req);
  };
  const { hostname, port } = new URL(baseUrl);
  return {
    send: (req) =>
      req.transport === "h1" ? sendH1(h1, req) : req.transport === "h2" ? sendOnH2(req) : sendRaw(hostname, Number(port), req.raw ?? new Uint8Array()),
    async close() {
      session?.close();
      await h1.close();
    },
  };
}

function noAnswer(error: unknown): WireResponse {
  return { status: 0, headers: {}, body: Buffer.alloc(0), trailers: {}, open: false, error: String((error as Error)?.message ?? error) };
}

function flat(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : v;
  return out;
}

/** A streaming answer that has not even sent its headers yet (connect sends them with the first message). */
function silentStream(): WireResponse {
  return { status: 0, headers: {}, body: Buffer.alloc(0), trailers: {}, open: true };
}

async function sendH1(client: Client, req: WireRequest): Promise<WireResponse> {
  const abort = new AbortController();
  let silent = false;
  const peek = req.streaming ? setTimeout(() => ((silent = true), abort.abort()), STREAM_PEEK_MS) : undefined;
  try {
    const res = await client.request({
      method: req.method,
      path: req.path,
      headers: req.headers,
      body: req.body.length ? req.body : undefined,
      signal: abort.signal,
    });
    clearTimeout(peek);
    const chunks: Buffer[] = [];
    const open = await readUntil(res.body, chunks, req.streaming, () => abort.abort());
    const trailers = flat(res.trailers as Record<string, string>);
    return { status: res.statusCode, headers: flat(res.headers), body: Buffer.concat(chunks), trailers, open };
  } catch (err) {
    clearTimeout(peek);
    return silent ? silentStream() : noAnswer(err);
  }
}

/** Reads a body to its end, or (streaming) until it has been quiet for a moment; true if still open. */
function readUntil(body: NodeJS.ReadableStream, chunks: Buffer[], streaming: boolean | undefined, hangUp: () => void): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => {
        if (!streaming) return reject(new Error(`no end of body after ${ANSWER_TIMEOUT_MS} ms`));
        hangUp();
        resolve(true);
      },
      streaming ? STREAM_PEEK_MS : ANSWER_TIMEOUT_MS,
    );
    body.on("data", (c: Buffer) => chunks.push(c));
    body.on("end", () => {
      clearTimeout(timer);
      resolve(false);
    });
    body.on("error", (err) => {
      clearTimeout(timer);
      if (streaming && chunks.length) resolve(true);
      else reject(err);
    });
  });
}

function sendH2(session: http2.ClientHttp2Session, req: WireRequest): Promise<WireResponse> {
  return new Promise((resolve) => {
    const out: WireResponse = { status: 0, headers: {}, body: Buffer.alloc(0), trailers: {}, open: false };
    const chunks: Buffer[] = [];
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request({ ":method": req.method, ":path": req.path, ...req.headers }, { endStream: req.body.length === 0 });
    } catch (err) {
      return resolve(noAnswer(err));
    }
    const finish = (open: boolean, error?: string) => {
      clearTimeout(timer);
      resolve({ ...out, body: Buffer.concat(chunks), open, ...(out.status === 0 && error ? { error } : {}) });
    };
    const timer = setTimeout(() => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      finish(!!req.streaming && out.status !== 0, `no answer after ${ANSWER_TIMEOUT_MS} ms`);
    }, ANSWER_TIMEOUT_MS);
    if (req.streaming) {
      setTimeout(() => {
        if (stream.closed) return;
        stream.close(http2.constants.NGHTTP2_CANCEL);
        finish(true);
      }, STREAM_PEEK_MS);
    }
    stream.on("response", (h) => {
      out.status = Number(h[":status"]);
      out.headers = flat(h as Record<string, string>);
    });
    stream.on("trailers", (t) => (out.trailers = flat(t as Record<string, string>)));
    stream.on("data", (c: Buffer) => chunks.push(c));
    // The answer is complete when the server ends its side, even while it has not read the whole request (too large).
    stream.on("end", () => {
      finish(false);
      if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
    });
    stream.on("error", (err) => finish(false, err.message));
    stream.on("close", () => finish(false, `stream closed with code ${stream.rstCode}`));
    // The server may answer (and reset the stream) before the whole body is written.
    stream.on("error", () => undefined);
    if (req.body.length) void writeChunked(stream, req.body);
  });
}

/** Resolves on the first of the events, and removes its listeners for all of them. */
function firstOf(emitter: NodeJS.EventEmitter, events: string[]): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      for (const e of events) emitter.off(e, done);
      resolve();
    };
    for (const e of events) emitter.on(e, done);
  });
}

/**
 * Writes a body in steps, as flow control lets it, and stops once the server has answered (a
 * client that queued megabytes at once would exceed its own session's memory limit).
 */
async function writeChunked(stream: http2.ClientHttp2Stream, body: Uint8Array): Promise<void> {
  const STEP = 64 * 1024;
  let answered = false;
  stream.once("trailers", () => (answered = true)).once("end", () => (answered = true));
  for (let at = 0; at < body.length && !answered && !stream.closed && !stream.destroyed; at += STEP) {
    if (!stream.write(body.subarray(at, at + STEP))) await firstOf(stream, ["drain", "close", "end"]);
  }
  if (!answered && !stream.closed && !stream.destroyed) stream.end();
}

/**
 * Writes raw bytes to a fresh connection in 64 KiB steps, stops writing once an answer starts,
 * and reads until the server closes. Only the status line is parsed.
 */
function sendRaw(host: string, port: number, bytes: Uint8Array): Promise<WireResponse> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    const chunks: Buffer[] = [];
    let answered = false;
    let written = 0;
    const timer = setTimeout(() => socket.destroy(new Error(`no answer after ${ANSWER_TIMEOUT_MS} ms`)), ANSWER_TIMEOUT_MS);
    const done = (error?: string) => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks);
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text.toString("latin1", 0, 64));
      const split = text.indexOf("\r\n\r\n");
      const body = split < 0 ? Buffer.alloc(0) : text.subarray(split + 4);
      resolve({
        status: m ? Number(m[1]) : 0,
        headers: {},
        body,
        trailers: {},
        open: false,
        written,
        ...(m ? {} : { error: error ?? "closed without an answer" }),
      });
    };
    socket.on("data", (c: Buffer) => {
      if (!answered) written = socket.bytesWritten;
      answered = true;
      chunks.push(c);
    });
    socket.on("error", (err) => (answered ? undefined : done(err.message)));
    socket.on("close", () => done());
    socket.on("connect", async () => {
      const STEP = 64 * 1024;
      for (let at = 0; at < bytes.length && !answered && !socket.destroyed; at += STEP) {
        if (!socket.write(bytes.subarray(at, at + STEP))) await firstOf(socket, ["drain", "close"]);
      }
      // An incomplete request may rightly be waited on by the server: hang up after a while.
      setTimeout(() => socket.destroy(), RAW_PATIENCE_MS).unref();
    });
  });
}
