import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort, isGone, tailOf, type Tail } from "./processes.js";

/** A PostgreSQL server started for FerretDB's PostgreSQL backend. */
export interface PostgresServer {
  /** The database URL FerretDB's `--postgresql-url` takes (database `ferretdb`, user `postgres`, no password). */
  url: string;
  /** The postmaster's process id while it runs (its backends are its children). */
  pid(): number | undefined;
  /** Fast shutdown (SIGINT: open sessions are cut), SIGKILL after a grace period; removes the data. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 10_000;

/** The directory of PostgreSQL's programs: `$CRONMESH_PG_BIN_DIR`, else Debian's PostgreSQL 15. */
export function postgresBinDir(): string {
  return process.env.CRONMESH_PG_BIN_DIR || "/usr/lib/postgresql/15/bin";
}

/**
 * The user and group PostgreSQL runs as. It refuses to run as root, so a root caller runs it as
 * the `postgres` user Debian's package created; anyone else runs it as themselves.
 */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(spawnSync("id", [flag, "postgres"], { encoding: "utf8" }).stdout.trim());
  const uid = id("-u");
  const gid = id("-g");
  if (!Number.isInteger(uid) || uid <= 0) throw new Error("running as root, but there is no `postgres` user to run PostgreSQL as (apt-get install postgresql)");
  return { uid, gid };
}

/** Runs one of PostgreSQL's programs to completion; throws with its output when it fails. */
function runTool(tool: string, args: string[], user: { uid: number; gid: number } | undefined): void {
  const result = spawnSync(join(postgresBinDir(), tool), args, { encoding: "utf8", ...user, env: { ...process.env, LC_ALL: "C" } });
  if (result.status !== 0)
    throw new Error(`${tool} ${args.join(" ")} failed (${result.status ?? result.signal ?? result.error?.message}):\n${result.stdout}${result.stderr}`);
}

/** True when the server accepts connections (`pg_isready`: not only listening, past its start-up too). */
function isReady(port: number): boolean {
  return spawnSync(join(postgresBinDir(), "pg_isready"), ["-q", "-h", "127.0.0.1", "-p", String(port)]).status === 0;
}

/** Resolves once the server accepts connections; throws when it exits or the deadline passes. */
async function waitReady(port: number, child: ChildProcess, stderr: Tail): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (isGone(child)) throw new Error(`PostgreSQL exited during start-up (${child.exitCode ?? child.signalCode}):\n${stderr()}`);
    if (isReady(port)) return;
    await sleep(100);
  }
  throw new Error(`PostgreSQL did not accept connections on ${port} within ${READY_TIMEOUT_MS} ms:\n${stderr()}`);
}

/**
 * Starts a private PostgreSQL (Debian's, see {@link postgresBinDir}) on a free loopback port with
 * a fresh data directory, and creates the `ferretdb` database. `synchronous_commit=off`: a commit
 * is acknowledged before its WAL reaches the disk (flushed within a fraction of a second), the
 * durability MongoDB gives an acknowledged write by default (journal flushed every 100 ms).
 */
export async function startPostgres(): Promise<PostgresServer> {
  const bin = join(postgresBinDir(), "postgres");
  if (!existsSync(bin)) throw new Error(`PostgreSQL not found at ${bin}; run \`node test/harness/ensure-postgresql.mjs\` or set CRONMESH_PG_BIN_DIR`);
  const user = runAs();
  const dir = await mkdtemp(join(tmpdir(), "cronmesh-pg-"));
  const data = join(dir, "data");
  mkdirSync(data, { mode: 0o700 });
  if (user) for (const d of [dir, data]) chownSync(d, user.uid, user.gid);
  try {
    runTool("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"], user);
    const port = await freePort();
    const child = spawn(
      bin,
      ["-D", data, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "synchronous_commit=off", "-c", "max_connections=200"],
      {
        stdio: ["ignore", "ignore", "pipe"],
        ...user,
      },
    );
    const stderr = tailOf(child.stderr);
    child.on("error", (err) => stderr.note(`spawn error: ${err.message}`));
    try {
      await waitReady(port, child, stderr);
      runTool("createdb", ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "ferretdb"], user);
    } catch (err) {
      await stopPostmaster(child);
      throw err;
    }
    return {
      url: `postgres://postgres@127.0.0.1:${port}/ferretdb`,
      pid: () => (isGone(child) ? undefined : child.pid),
      async stop() {
        await stopPostmaster(child);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** SIGINT (fast shutdown: PostgreSQL's smart SIGTERM would wait for every client), then SIGKILL. */
async function stopPostmaster(child: ChildProcess): Promise<void> {
  if (isGone(child)) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGINT");
  const grace = new AbortController();
  const first = await Promise.race([
    exited.then(() => "exited" as const),
    sleep(STOP_GRACE_MS, "timeout" as const, { signal: grace.signal }).catch(() => "exited" as const),
  ]);
  grace.abort();
  if (first === "timeout") {
    child.kill("SIGKILL");
    await exited;
  }
}
