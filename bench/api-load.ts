// What the API benchmarks share: a node in a child process, and the two load generators —
// autocannon for HTTP/1.1 (REST, Connect, /health) and a loop over connect-node's gRPC transport.
import { fork, type ChildProcess } from "node:child_process";
import http2 from "node:http2";
import { fileURLToPath } from "node:url";
import autocannonModule from "autocannon";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { CronService } from "../gen/cronmesh/v1/cron_service_pb.js";
import { pct } from "./loopback.js";

/** What autocannon reports, as far as the benches read it. */
interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number; max: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
}
type RawRequest = { method?: string; path?: string; body?: string | Buffer; headers?: Record<string, string> };
interface AutocannonOptions {
  url: string;
  connections: number;
  duration: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  requests?: { setupRequest: (req: RawRequest) => RawRequest }[];
}
const autocannon = autocannonModule as unknown as (o: AutocannonOptions) => Promise<AutocannonResult>;

/** One measured load: requests per second, latency, the node's CPU per request, failures. */
export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  /** The node's CPU time per request (µs): steadier than throughput on a shared machine. */
  cpuUsPerRequest: number;
  failed: number;
  requests: number;
}

/** A node process (bench/node-process.mjs) and its IPC. */
export interface NodeProcess {
  url: string;
  startedMs: number;
  leadingMs: number;
  child: ChildProcess;
  ask<T>(message: string): Promise<T>;
  usage(): Promise<{ cpuMs: number; rss: number; heapUsed: number }>;
  stop(): Promise<void>;
}

/**
 * Starts a node process with `env` (on top of this process's environment), as `npm start` runs
 * it; or another `script` that answers the same messages (bench/grpc-floor-process.mjs).
 */
export async function startNodeProcess(env: Record<string, string>, script = "./node-process.mjs"): Promise<NodeProcess> {
  const child = fork(fileURLToPath(new URL(script, import.meta.url)), {
    env: { ...process.env, ...env },
    execArgv: ["--expose-gc", "--max-semi-space-size=32"],
  });
  const exited = new Promise<never>((_, reject) => child.once("exit", (code) => reject(new Error(`node process exited (${code})`))));
  const ready = new Promise<{ port: number; startedMs: number; leadingMs: number }>((resolve) => child.once("message", resolve as never));
  const { port, startedMs, leadingMs } = await Promise.race([ready, exited]);
  exited.catch(() => undefined);
  const ask = <T>(message: string) =>
    new Promise<T>((resolve) => {
      child.once("message", (m) => resolve(m as T));
      child.send(message);
    });
  return {
    url: `http://127.0.0.1:${port}`,
    startedMs,
    leadingMs,
    child,
    ask,
    usage: () => ask("usage"),
    async stop() {
      await ask("stop");
      await new Promise((r) => child.once("exit", r));
    },
  };
}

/** An HTTP/1.1 load: a fixed request, or one made per request by `next`. */
export interface HttpLoad {
  method: "GET" | "POST";
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** A new request each time (a random job id, a unique name). */
  next?: () => { path?: string; body?: string | Buffer };
}

/** Runs autocannon with `connections` against the node for `seconds`; the node's CPU is sampled around it. */
export async function httpLoad(node: NodeProcess, load: HttpLoad, connections: number, seconds: number): Promise<LoadResult> {
  const before = await node.usage();
  const next = load.next;
  const result = await autocannon({
    url: node.url + load.path,
    connections,
    duration: seconds,
    method: load.method,
    headers: load.headers,
    body: load.body,
    requests: next ? [{ setupRequest: (req) => ({ ...req, ...next() }) }] : undefined,
  });
  const after = await node.usage();
  const requests = result.requests.total;
  return {
    rps: requests / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuUsPerRequest: ((after.cpuMs - before.cpuMs) * 1000) / Math.max(1, requests),
    failed: result.non2xx + result.errors + result.timeouts,
    requests,
  };
}

/** A call made by the gRPC loop, on one of its clients. */
export type GrpcCall = (client: Client<typeof CronService>) => Promise<unknown>;

/**
 * Which gRPC client the load uses: "connect" (connect-node's gRPC transport, as services call
 * the node) or "raw" (a bare node http2 client framing the same messages: a lighter load
 * generator, so that the node rather than the client is what is busy). The raw client sends
 * `grpc-accept-encoding` as connect-node does, so that the node does the same work.
 */
export type GrpcClientKind = "connect" | "raw";

/**
 * The gRPC load: `connections` HTTP/2 connections (as autocannon's are each on their own), with
 * `streams` callers on each, each making one call after another for `seconds`.
 */
export async function grpcLoad(
  node: NodeProcess,
  call: GrpcCall,
  connections: number,
  seconds: number,
  kind: GrpcClientKind = "connect",
  streams = 1,
): Promise<LoadResult> {
  const made = Array.from({ length: connections }, () =>
    kind === "raw" ? rawGrpcClient(node.url) : { client: createClient(CronService, createGrpcTransport({ baseUrl: node.url })), close: () => undefined },
  );
  const clients = made.flatMap((m) => Array.from({ length: streams }, () => m.client));
  try {
    // Open every connection before measuring, as autocannon does.
    await Promise.all(clients.map((c) => call(c).catch(() => undefined)));
    const before = await node.usage();
    const latencies: number[] = [];
    let failed = 0;
    const end = performance.now() + seconds * 1000;
    const worker = async (client: Client<typeof CronService>) => {
      while (performance.now() < end) {
        const t = performance.now();
        try {
          await call(client);
        } catch {
          failed++;
        }
        latencies.push(performance.now() - t);
      }
    };
    await Promise.all(clients.map(worker));
    const after = await node.usage();
    latencies.sort((a, b) => a - b);
    return {
      rps: latencies.length / seconds,
      p50: pct(latencies, 50),
      p99: pct(latencies, 99),
      cpuUsPerRequest: ((after.cpuMs - before.cpuMs) * 1000) / Math.max(1, latencies.length),
      failed,
      requests: latencies.length,
    };
  } finally {
    for (const m of made) m.close();
  }
}

/**
 * A CronService client over one bare HTTP/2 session: unary calls only, the request framed and the
 * response read by hand (no compression is sent; a compressed or failed answer rejects).
 */
function rawGrpcClient(baseUrl: string): { client: Client<typeof CronService>; close: () => void } {
  const session = http2.connect(baseUrl);
  const client: Record<string, (input: object, options?: { headers?: Record<string, string> }) => Promise<unknown>> = {};
  for (const method of CronService.methods) {
    if (method.methodKind !== "unary") continue;
    const path = `/${CronService.typeName}/${method.name}`;
    client[method.localName] = (input, options) =>
      new Promise((resolve, reject) => {
        const data = toBinary(method.input, create(method.input, input as never));
        const frame = Buffer.alloc(5 + data.byteLength);
        frame.writeUInt32BE(data.byteLength, 1);
        frame.set(data, 5);
        const stream = session.request({
          ":method": "POST",
          ":path": path,
          "content-type": "application/grpc+proto",
          te: "trailers",
          "grpc-accept-encoding": "gzip,br",
          ...options?.headers,
        });
        const chunks: Buffer[] = [];
        let status: unknown;
        stream.on("response", (h) => (status = h["grpc-status"]));
        stream.on("trailers", (t) => (status = t["grpc-status"]));
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("error", reject);
        stream.on("close", () => {
          const body = Buffer.concat(chunks);
          if (status !== "0") reject(new Error(`grpc-status ${String(status)}`));
          else if (body.byteLength < 5) reject(new Error("no response message"));
          else if (body[0] !== 0)
            resolve(undefined); // compressed: counted, not decoded
          else resolve(fromBinary(method.output, body.subarray(5)));
        });
        stream.end(frame);
      });
  }
  return { client: client as unknown as Client<typeof CronService>, close: () => session.close() };
}
