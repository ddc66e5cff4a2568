import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { MongoClient } from "mongodb";
import { startPostgres, type PostgresServer } from "./postgres.js";
import { freePort, isGone, killChild, tailOf, type Tail } from "./processes.js";

/** FerretDB's storage: its SQLite backend, or its PostgreSQL one (on a PostgreSQL of its own). */
export type FerretDbBackend = "sqlite" | "postgresql";

/** A FerretDB server started for the tests. */
export interface FerretDbServer {
  /** MongoDB connection string of the server. */
  uri: string;
  backend: FerretDbBackend;
  /** FerretDB's debug handler (`/debug/metrics`: Prometheus counters of the commands served). */
  debugUrl: string;
  /** Process ids of the servers: FerretDB, and the PostgreSQL postmaster of that backend. */
  pids(): { ferretdb?: number; postgres?: number };
  /** Stops the server process and removes its data directory. */
  stop(): Promise<void>;
  /** Kills FerretDB (SIGKILL) and keeps its data, as a crash would (PostgreSQL stays up). */
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

/**
 * The backend of the tests' FerretDB: `$CRONMESH_FERRETDB_BACKEND` (`sqlite`, the default, or
 * `postgresql`). The switch applies wherever the harness starts one: the main suite's global
 * setup and the cluster scenarios.
 */
export function ferretDbBackend(): FerretDbBackend {
  const chosen = process.env.CRONMESH_FERRETDB_BACKEND || "sqlite";
  if (chosen !== "sqlite" && chosen !== "postgresql") throw new Error(`CRONMESH_FERRETDB_BACKEND must be sqlite or postgresql, got ${JSON.stringify(chosen)}`);
  return chosen;
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

/** The command-line arguments of a FerretDB server on SQLite in `dataDir`, or on the PostgreSQL at `postgresUrl`. */
function ferretDbArgs(dataDir: string, port: number, debugPort: number, postgresUrl: string | undefined): string[] {
  return [
    ...(postgresUrl ? ["--handler=postgresql", `--postgresql-url=${postgresUrl}`] : ["--handler=sqlite", `--sqlite-url=file:${dataDir}/`]),
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
async function spawnServer(bin: string, dataDir: string, port: number, debugPort: number, postgresUrl?: string): Promise<ChildProcess> {
  const child = spawn(bin, ferretDbArgs(dataDir, port, debugPort, postgresUrl), { stdio: ["ignore", "ignore", "pipe"] });
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

/** One start attempt: spawn on fresh ports and a fresh directory (on `postgres` when given), wait for `ping`. */
async function startOnce(bin: string, postgres: PostgresServer | undefined): Promise<FerretDbServer> {
  const dataDir = await mkdtemp(join(tmpdir(), "cronmesh-ferretdb-"));
  const [port, debugPort] = await freePorts();
  let child: ChildProcess;
  try {
    child = await spawnServer(bin, dataDir, port, debugPort, postgres?.url);
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    uri: `mongodb://127.0.0.1:${port}/`,
    backend: postgres ? "postgresql" : "sqlite",
    debugUrl: `http://127.0.0.1:${debugPort}`,
    pids: () => ({ ferretdb: isGone(child) ? undefined : child.pid, postgres: postgres?.pid() }),
    async stop() {
      await killChild(child);
      await postgres?.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
    async crash() {
      const exited = new Promise<void>((resolve) => (isGone(child) ? resolve() : child.once("exit", () => resolve())));
      child.kill("SIGKILL");
      await exited;
    },
    async restart() {
      child = await spawnServer(bin, dataDir, port, debugPort, postgres?.url);
    },
  };
}

/**
 * Starts a private FerretDB on free loopback ports in a fresh temp directory and waits until it
 * answers `ping` (at most ~30 s). Its backend is SQLite, or PostgreSQL (a private server started
 * first, see {@link startPostgres}, and stopped with it); by default {@link ferretDbBackend}. A
 * server that quits during start-up (e.g. a port taken in between) is retried twice; failures are
 * thrown with the tail of FerretDB's stderr.
 */
export async function startFerretDb(backend: FerretDbBackend = ferretDbBackend()): Promise<FerretDbServer> {
  const bin = ferretDbBinary();
  if (!existsSync(bin)) {
    throw new Error(`FerretDB binary not found at ${bin}; run \`node test/harness/ensure-ferretdb.mjs\` or set MONGODB_URI`);
  }
  const postgres = backend === "postgresql" ? await startPostgres() : undefined;
  let lastError: unknown;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    try {
      return await startOnce(bin, postgres);
    } catch (err) {
      lastError = err;
      if (!(err instanceof FerretDbExitedError)) break;
    }
  }
  await postgres?.stop();
  throw lastError;
}
