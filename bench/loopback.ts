// What the benchmarks share: the loopback sink (a child process) and the raw baseline loops, a
// bare undici client POSTing the same requests as the service to the same kind of sink.
import { fork, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { fileURLToPath } from "node:url";
import { Agent, request } from "undici";
import { serviceLikeHeaders } from "./peers/post.mjs";

/** Connections to the sink, the same for the service and for the raw baseline loop. */
export const CONNECTIONS = 256;
/** Requests the raw baseline keeps in flight: one per connection keeps every connection busy. */
const RAW_CONCURRENCY = 512;

/** A delivery as the sink saw it. */
export type Rec = [jobId: string, scheduledAt: string, arrival: number];

/** A sink process: its URL, what it received so far, and its final report (it exits then). */
export interface Sink {
  url: string;
  /** The deliveries received since the last take, handed over and forgotten by the sink. */
  take(): Promise<Rec[]>;
  report(): Promise<Rec[]>;
}

/** A loopback server in a child process (`env` on top of this one's), asked over IPC; "report" answers once, then it exits. */
export async function startChild<R>(
  script: string,
  env: Record<string, string> = {},
): Promise<{ url: string; ask(message: string): Promise<R>; report(): Promise<R> }> {
  const child: ChildProcess = fork(fileURLToPath(new URL(script, import.meta.url)), { env: { ...process.env, ...env } });
  const port = await new Promise<number>((resolve) => child.once("message", (m: { port: number }) => resolve(m.port)));
  const ask = (message: string) =>
    new Promise<R>((resolve) => {
      child.once("message", (m: R) => resolve(m));
      child.send(message);
    });
  return { url: `http://127.0.0.1:${port}`, ask, report: () => ask("report") };
}

/** Starts a sink process, on `port` when given (else a free one). */
export async function startSink(port?: number): Promise<Sink> {
  const child = await startChild<{ records: Rec[] }>("./sink-process.mjs", port === undefined ? {} : { BENCH_SINK_PORT: String(port) });
  return { url: child.url, take: async () => (await child.ask("take")).records, report: async () => (await child.report()).records };
}

/** The p-th percentile of sorted values. */
export const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** The median of unsorted values. */
export const median = (xs: number[]) =>
  pct(
    [...xs].sort((a, b) => a - b),
    50,
  );

/** How a raw loop calls undici: its request() API, or its lowest-level dispatch() (what the service uses). */
export type RawKind = "request" | "dispatch";

/** One bare POST through `agent`, resolved once the response has been read. */
export function rawPost(agent: Agent, sinkUrl: string, headers: Record<string, string>, kind: RawKind): Promise<void> {
  if (kind === "request") {
    return request(`${sinkUrl}/raw`, { dispatcher: agent, method: "POST", headers }).then((res) => res.body.dump());
  }
  return new Promise((resolve, reject) => {
    agent.dispatch(
      { origin: sinkUrl, path: "/raw", method: "POST", headers },
      {
        onRequestStart: () => undefined,
        onResponseStart: () => undefined,
        onResponseData: () => undefined,
        onResponseEnd: () => resolve(),
        onResponseError: (_c, err) => reject(err),
      },
    );
  });
}

/** The headers of the service's request number `i` of a slot, with values of the same lengths (shared with bench/peers). */
export { serviceLikeHeaders };

/** A raw client: an undici Agent with the service's connection count. */
export const rawAgent = () => new Agent({ connections: CONNECTIONS, keepAliveTimeout: 30_000 });

/**
 * The raw baseline: a bare undici loop POSTing `n` requests with the executor's concurrency;
 * returns the milliseconds it took. Through `agent` when given (its connections may be open
 * already), else through a new one, whose connections it opens as it goes.
 */
export async function rawBaseline(sinkUrl: string, n: number, kind: RawKind, agent?: Agent): Promise<number> {
  const client = agent ?? rawAgent();
  let next = 0;
  // Not a parsable slot: the sink's report leaves these requests out of every scenario's figures.
  const slot = "raw".padEnd(24, "-");
  const start = performance.now();
  const worker = async () => {
    while (next < n) await rawPost(client, sinkUrl, serviceLikeHeaders(++next, slot), kind);
  };
  await Promise.all(Array.from({ length: Math.min(RAW_CONCURRENCY, n) }, worker));
  const ms = performance.now() - start;
  if (!agent) await client.close();
  return ms;
}

/**
 * Starts a V8 CPU profile of this process (BENCH_PROFILE of the benches); the function returned
 * stops it and writes it to `file` (open it in Chrome DevTools).
 */
export async function startCpuProfile(file: string): Promise<() => Promise<void>> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
  return async () => {
    const { profile } = await session.post("Profiler.stop");
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
}
