import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MongoClient } from "mongodb";
import { inject } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { startNode, type Node } from "../../src/main.js";
import "./provided-context.js";

/** Which Store adapter a test node runs on. */
export type StoreKind = "sqlite" | "mongo";

/** A cronmesh node started in-process on a free loopback port. */
export interface TestNode {
  baseUrl: string;
  port: number;
  node: Node;
  stop(): Promise<void>;
}

/** Starts a node on 127.0.0.1:0 with a fresh store of the given kind; stop() removes its data. */
export async function startTestNode(kind: StoreKind, env: Record<string, string> = {}): Promise<TestNode> {
  const dir = mkdtempSync(join(tmpdir(), "cronmesh-node-"));
  const dbName = `cronmesh_node_${randomBytes(6).toString("hex")}`;
  const mongoEnv: Record<string, string> = kind === "mongo" ? { MONGODB_URI: inject("mongoUri"), MONGODB_DB: dbName } : {};
  const config = loadConfig({ PORT: "0", HOST: "127.0.0.1", DATA_DIR: dir, LOG_LEVEL: "silent", SHUTDOWN_GRACE_MS: "2000", ...mongoEnv, ...env });
  const node = await startNode(config);
  const port = node.server.port;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    node,
    async stop() {
      await node.stop();
      rmSync(dir, { recursive: true, force: true });
      if (kind === "mongo") await dropDatabase(mongoEnv.MONGODB_URI!, dbName);
    },
  };
}

async function dropDatabase(uri: string, dbName: string): Promise<void> {
  const client = new MongoClient(uri);
  try {
    await client.db(dbName).dropDatabase();
  } finally {
    await client.close();
  }
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
