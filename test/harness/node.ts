import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LookupFunction } from "node:net";
import type { Logger } from "pino";
import { inject } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import type { Clock } from "../../src/domain/clock.js";
import { startNode, type Node } from "../../src/main.js";
import "./provided-context.js";

/** Which Store adapter a test node runs on. */
export type StoreKind = "sqlite" | "mongo";

/** A cronmesh node started in-process on a free loopback port. */
export interface TestNode {
  baseUrl: string;
  port: number;
  node: Node;
  /** Stops the node and deletes its data. */
  stop(): Promise<void>;
  /** Stops the node and keeps its data, for a restart with {@link TestNodeOptions.reuse}. */
  halt(): Promise<void>;
  /** Where the data lives, to restart on it. */
  data: { dir: string; dbName: string };
}

/** Options of a test node. */
export interface TestNodeOptions {
  env?: Record<string, string>;
  clock?: Clock;
  /** Restart on the data of a halted node. */
  reuse?: { dir: string; dbName: string };
  /** The node's logger (default: one at LOG_LEVEL, "silent" unless `env` says otherwise). */
  log?: Logger;
  /** Resolves target host names instead of DNS (a resolver stub). */
  lookup?: LookupFunction;
}

/** Starts a node on 127.0.0.1:0 with a fresh (or reused) store of the given kind. */
export async function startTestNode(kind: StoreKind, options: TestNodeOptions = {}): Promise<TestNode> {
  const dir = options.reuse?.dir ?? mkdtempSync(join(tmpdir(), "cronmesh-node-"));
  const dbName = options.reuse?.dbName ?? `cronmesh_node_${randomBytes(6).toString("hex")}`;
  const mongoEnv: Record<string, string> = kind === "mongo" ? { MONGODB_URI: inject("mongoUri"), MONGODB_DB: dbName } : {};
  // A fake clock only moves when the test moves it: writes are then batched per event-loop turn, not by a delay on that clock.
  const batching: Record<string, string> = options.clock ? { RUN_WRITE_BATCH_MS: "0" } : {};
  const env = { PORT: "0", HOST: "127.0.0.1", DATA_DIR: dir, LOG_LEVEL: "silent", SHUTDOWN_GRACE_MS: "2000", ...mongoEnv, ...batching, ...options.env };
  const node = await startNode(loadConfig(env), { clock: options.clock, env, log: options.log, lookup: options.lookup });
  const port = node.server.port;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    node,
    data: { dir, dbName },
    halt: () => node.stop(),
    async stop() {
      await node.stop();
      rmSync(dir, { recursive: true, force: true });
      // Imported here, not at the top: the node must be the first to load the mongodb driver, so
      // that its tracing instrumentation can patch it.
      if (kind === "mongo") await (await import("./mongo.js")).dropDatabase(mongoEnv.MONGODB_URI!, dbName);
    },
  };
}

/** A JSON call to the REST routes: status and parsed body. */
export async function rest(baseUrl: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : {} };
}
