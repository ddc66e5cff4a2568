import http from "node:http";
import type { AddressInfo } from "node:net";

/** One request the sink received. */
export interface Delivery {
  receivedAt: number;
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The Idempotency-Key header (the run id; `<runId>:<taskId>` for a DAG task). */
  runId: string;
  /** The X-Cronmesh-Task-Id header: the DAG task, "" for a run without tasks. */
  taskId: string;
  jobId: string;
  scheduledAt: string;
  attempt: number;
  /** The replica that sent the request. */
  nodeId: string;
}

/** How the sink answers a request: status, body, and an optional delay. */
export interface Reply {
  status: number;
  body?: string;
  delayMs?: number;
  /** Answer only once this settles (after `delayMs`): a gate the test opens, for a target that is slow on cue. */
  until?: Promise<unknown>;
  /** Response headers besides content-type (e.g. a redirect's location). */
  headers?: Record<string, string>;
}

/** A loopback HTTP server that records every request and answers by a programmable rule. */
export interface Sink {
  url: string;
  deliveries: Delivery[];
  /** Sets the rule answering each request (default: 200 "ok"). */
  reply(rule: (d: Delivery) => Reply): void;
  /** Resolves once `count` deliveries match, or rejects after `timeoutMs`. */
  waitFor(predicate: (d: Delivery) => boolean, count: number, timeoutMs: number): Promise<Delivery[]>;
  close(): Promise<void>;
}

/** Starts a sink on 127.0.0.1 and a free port. */
export async function startSink(): Promise<Sink> {
  const deliveries: Delivery[] = [];
  let rule: (d: Delivery) => Reply = () => ({ status: 200, body: "ok" });
  const waiters = new Set<() => void>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const d = toDelivery(req, Buffer.concat(chunks).toString("utf8"));
      deliveries.push(d);
      for (const w of waiters) w();
      const r = rule(d);
      const send = () => {
        if (!res.destroyed) res.writeHead(r.status, { "content-type": "text/plain", ...r.headers }).end(r.body ?? "");
      };
      const later = () => (r.delayMs ? void setTimeout(send, r.delayMs).unref() : send());
      if (r.until) void r.until.finally(later);
      else later();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    deliveries,
    reply: (r) => void (rule = r),
    waitFor: (predicate, count, timeoutMs) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const hits = deliveries.filter(predicate);
          if (hits.length < count) return;
          cleanup();
          resolve(hits);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`sink: ${deliveries.filter(predicate).length}/${count} deliveries after ${timeoutMs} ms`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function toDelivery(req: http.IncomingMessage, body: string): Delivery {
  const h = req.headers;
  return {
    receivedAt: Date.now(),
    method: req.method ?? "",
    path: req.url ?? "",
    headers: h,
    body,
    runId: String(h["idempotency-key"] ?? ""),
    taskId: String(h["x-cronmesh-task-id"] ?? ""),
    jobId: String(h["x-cronmesh-job-id"] ?? ""),
    scheduledAt: String(h["x-cronmesh-scheduled-at"] ?? ""),
    attempt: Number(h["x-cronmesh-attempt"] ?? 0),
    nodeId: String(h["x-cronmesh-node"] ?? ""),
  };
}
