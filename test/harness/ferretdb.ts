import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { MongoClient } from "mongodb";
import { freePort, isGone, killChild, tailOf, type Tail } from "./processes.js";

/** A FerretDB server started for the tests. */
export interface FerretDbServer {
  /** MongoDB connection string of the server. */
  uri: string;
  /** Stops the server process and removes its data directory. */
  stop(): Promise<void>;
  /** Kills the process (SIGKILL) and keeps its data, as a crash would. */
  crash(): Promise<void>;
  /** Starts the server again on the same port and data (after {@link crash}). */
  restart(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 30_000;
const START_ATTEMPTS = 3;
const PING_INTERVAL_MS = 100;

/** The FerretDB binary: `$CRONMESH_FERRETDB_BIN`, else the one built by ensure-ferretdb.mjs. */
export function ferretDbBinary(): string {
  return process.env.CRONMESH_FERRETDB_BIN || join(homedir(), ".cache", "cronmesh", "bin", "ferretdb");
}

/** FerretDB quit before answering `ping` (bad flags, port taken meanwhile...): worth a retry. */
class FerretDbExitedError extends Error {}

/** Resolves once a `ping` succeeds; throws when the child exits or the deadline passes. */
async function waitForPing(uri: string, child: ChildProcess, stderr: Tail): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  let lastError = "";
  while (Date.now() < deadline) {
    if (isGone(child)) {
      throw new FerretDbExitedError(`FerretDB exited during start-up (${child.exitCode ?? child.signalCode ?? "not started"}):\n${stderr()}`);
    }
    const client = new MongoClient(uri, { serverSelectionTimeoutMS: 1_000, connectTimeoutMS: 1_000 });
    try {
      await client.db("admin").command({ ping: 1 });
      return;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
      await sleep(PING_INTERVAL_MS);
    } finally {
      await client.close().catch(() => undefined);
    }
  }
  throw new Error(`FerretDB did not answer ping within ${STARTUP_TIMEOUT_MS} ms (${lastError}):\n${stderr()}`);
}

/** The command-line arguments of a FerretDB server on SQLite in `dataDir`. */
function ferretDbArgs(dataDir: string, port: number, debugPort: number): string[] {
  return [
    "--handler=sqlite",
    `--sqlite-url=file:${dataDir}/`,
    `--state-dir=${dataDir}`,
    `--listen-addr=127.0.0.1:${port}`,
    `--debug-addr=127.0.0.1:${debugPort}`,
    "--telemetry=disable",
    "--log-level=error",
  ];
}

/** Two distinct free loopback ports: the listener's and the debug handler's. */
async function freePorts(): Promise<[number, number]> {
  const port = await freePort();
  let debugPort = await freePort();
  while (debugPort === port) debugPort = await freePort();
  return [port, debugPort];
}

/** Spawns the server on given ports and data and waits for `ping`; the child is killed on failure. */
async function spawnServer(bin: string, dataDir: string, port: number, debugPort: number): Promise<ChildProcess> {
  const child = spawn(bin, ferretDbArgs(dataDir, port, debugPort), { stdio: ["ignore", "ignore", "pipe"] });
  const stderr = tailOf(child.stderr);
  child.on("error", (err) => stderr.note(`spawn error: ${err.message}`));
  try {
    await waitForPing(`mongodb://127.0.0.1:${port}/`, child, stderr);
  } catch (err) {
    await killChild(child);
    throw err;
  }
  return child;
}

/** One start attempt: spawn on fresh ports and a fresh directory, wait for `ping`. */
async function startOnce(bin: string): Promise<FerretDbServer> {
  const dataDir = await mkdtemp(join(tmpdir(), "cronmesh-ferretdb-"));
  const [port, debugPort] = await freePorts();
  let child: ChildProcess;
  try {
    child = await spawnServer(bin, dataDir, port, debugPort);
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    uri: `mongodb://127.0.0.1:${port}/`,
    async stop() {
      await killChild(child);
      await rm(dataDir, { recursive: true, force: true });
    },
    async crash() {
      const exited = new Promise<void>((resolve) => (isGone(child) ? resolve() : child.once("exit", () => resolve())));
      child.kill("SIGKILL");
      await exited;
    },
    async restart() {
      child = await spawnServer(bin, dataDir, port, debugPort);
    },
  };
}

/**
 * Starts a private FerretDB (SQLite backend) on free loopback ports in a fresh temp directory and
 * waits until it answers `ping` (at most ~30 s). A server that quits during start-up (e.g. a port
 * taken in between) is retried twice; failures are thrown with the tail of FerretDB's stderr.
 */
export async function startFerretDb(): Promise<FerretDbServer> {
  const bin = ferretDbBinary();
  if (!existsSync(bin)) {
    throw new Error(`FerretDB binary not found at ${bin}; run \`node test/harness/ensure-ferretdb.mjs\` or set MONGODB_URI`);
  }
  let lastError: unknown;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    try {
      return await startOnce(bin);
    } catch (err) {
      if (!(err instanceof FerretDbExitedError)) throw err;
      lastError = err;
    }
  }
  throw lastError;
}
