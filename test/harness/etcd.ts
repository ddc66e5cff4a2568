import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort, killChild, tailOf } from "./processes.js";

/** One etcd member started by the tests. */
export interface EtcdMember {
  name: string;
  clientUrl: string;
  /** The process id while it runs. */
  pid(): number | undefined;
  /** Sends a signal (SIGKILL to crash it, SIGSTOP/SIGCONT to freeze it). */
  signal(sig: NodeJS.Signals): void;
  /** Stops it (SIGTERM, then SIGKILL) and waits for the exit; its data stays. */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data. */
  start(): Promise<void>;
}

/** An etcd cluster of the tests. */
export interface EtcdCluster {
  endpoints: string[];
  members: EtcdMember[];
  /** Stops every member and deletes the data. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;

/** The etcd binary: `$CRONMESH_ETCD_BIN`, else `etcd` on the PATH (see ensure-etcd.mjs). */
function etcdBinary(): string {
  return process.env.CRONMESH_ETCD_BIN || "etcd";
}

/**
 * Starts a cluster of `size` members on free loopback ports, each with a temporary data
 * directory, and waits until every member reports healthy.
 */
export async function startEtcdCluster(size: number): Promise<EtcdCluster> {
  const root = await mkdtemp(join(tmpdir(), "cronmesh-etcd-"));
  const token = `cronmesh-${process.pid}-${Date.now()}`;
  const ports = await Promise.all(Array.from({ length: size }, async () => ({ client: await freePort(), peer: await freePort() })));
  const initial = ports.map((p, i) => `m${i}=http://127.0.0.1:${p.peer}`).join(",");
  const members = ports.map((p, i) => createMember(`m${i}`, join(root, `m${i}`), p.client, p.peer, initial, token));
  await Promise.all(members.map((m) => m.start()));
  await waitQuorum(members[0]!.clientUrl);
  return {
    endpoints: members.map((m) => m.clientUrl),
    members,
    async stop() {
      await Promise.all(members.map((m) => m.stop()));
      await rm(root, { recursive: true, force: true });
    },
  };
}

function createMember(name: string, dataDir: string, clientPort: number, peerPort: number, initialCluster: string, token: string): EtcdMember {
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const args = [
    "--name",
    name,
    "--data-dir",
    dataDir,
    "--listen-client-urls",
    clientUrl,
    "--advertise-client-urls",
    clientUrl,
    "--listen-peer-urls",
    peerUrl,
    "--initial-advertise-peer-urls",
    peerUrl,
    "--initial-cluster",
    initialCluster,
    "--initial-cluster-state",
    "new",
    "--initial-cluster-token",
    token,
    "--log-level",
    "error",
  ];
  let child: ChildProcess | undefined;
  return {
    name,
    clientUrl,
    pid: () => child?.pid,
    signal: (sig) => void child?.kill(sig),
    async stop() {
      if (child) await killChild(child);
      child = undefined;
    },
    async start() {
      child = spawn(etcdBinary(), args, { stdio: ["ignore", "ignore", "pipe"] });
      const stderr = tailOf(child.stderr);
      await waitHealthy(clientUrl, child, stderr);
    },
  };
}

/** Waits until the cluster has a raft leader (the member's /health says true). */
async function waitQuorum(url: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const health = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.json() as Promise<{ health?: string }>,
      () => undefined,
    );
    if (health?.health === "true") return;
    await sleep(100);
  }
  throw new Error(`etcd cluster at ${url} found no quorum within ${READY_TIMEOUT_MS} ms`);
}

/** Waits until the member answers /version (a member alone has no quorum yet, so only liveness is checked). */
async function waitHealthy(url: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`etcd exited during start-up:\n${stderr()}`);
    try {
      const res = await fetch(`${url}/version`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`etcd at ${url} did not answer within ${READY_TIMEOUT_MS} ms:\n${stderr()}`);
}
