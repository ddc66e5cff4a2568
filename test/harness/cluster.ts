import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { makeApiKey, makeSecretsKey } from "../../deploy/make-token.js";
import { clientsFor, type Clients } from "./clients.js";
import { Etcd3 } from "etcd3";
import { startEtcdCluster, type EtcdCluster } from "./etcd.js";
import { startFerretDb, type FerretDbServer } from "./ferretdb.js";
import { freePort, killChild } from "./processes.js";
import { startSink, type Sink } from "./sink.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const READY_TIMEOUT_MS = 30_000;

/** One cronmesh replica running as a process of its own. */
export interface Replica {
  nodeId: string;
  baseUrl: string;
  logFile: string;
  pid(): number | undefined;
  running(): boolean;
  /** Sends a signal (SIGKILL to crash it, SIGSTOP/SIGCONT to freeze it). */
  signal(sig: NodeJS.Signals): void;
  /** SIGTERM, and waits for the exit (SIGKILL after a grace period). */
  stop(): Promise<void>;
  /** Starts it again (same node id, port and configuration) and waits until it serves. */
  start(): Promise<void>;
  /** Waits for a process that was signalled to exit. */
  exited(): Promise<void>;
}

/** A whole cluster of the tests: etcd, FerretDB, replicas and the sink they call. */
export interface Cluster {
  etcd: EtcdCluster;
  ferret: FerretDbServer;
  mongoUri: string;
  dbName: string;
  replicas: Replica[];
  sink: Sink;
  ttlMs: number;
  /**
   * The running replica that etcd's election names leader, if any (not a replica's own view: its
   * cluster status reads the store, which a storm can slow past a poll's deadline).
   */
  leader(): Promise<Replica | undefined>;
  /**
   * The node id the election names leader, read from etcd itself (the key with the lowest create
   * revision under the election prefix): exact and quick, unlike asking a replica, whose cluster
   * status also reads the store and every replica's runs.
   */
  electedLeader(): Promise<string | undefined>;
  /** Any replica that answers. */
  anyLive(): Replica;
  /** The credentials every replica accepts (an API key of an admin of every project): the replicas authenticate. */
  auth: Record<string, string>;
  /** Clients of a replica (any live one by default) that send {@link Cluster.auth}. */
  clients(replica?: Replica): Clients;
  stop(): Promise<void>;
}

/** How a test cluster is made. */
export interface ClusterOptions {
  replicas: number;
  etcdMembers: number;
  /** Session lease TTL of the replicas. */
  ttlMs: number;
  /** More environment for every replica. */
  env?: Record<string, string>;
}

/**
 * Bundles the service once per process into `.cache/` inside the repository (so that its
 * dependencies resolve from `node_modules`): replicas then start in a few hundred milliseconds.
 */
let bundled: Promise<string> | undefined;
export function serviceBundle(): Promise<string> {
  bundled ??= (async () => {
    const outfile = join(ROOT, ".cache", `cluster-bundle-${process.pid}`, "main.mjs");
    await build({
      entryPoints: [join(ROOT, "src", "main.ts")],
      outfile,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      packages: "external",
      sourcemap: "inline",
      logLevel: "error",
    });
    return outfile;
  })();
  return bundled;
}

/** Starts etcd (members), FerretDB, the sink and the replicas, and waits until a leader is elected. */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const [entry, etcd, ferret, sink] = await Promise.all([serviceBundle(), startEtcdCluster(options.etcdMembers), startFerretDb(), startSink()]);
  const logDir = await mkdtemp(join(tmpdir(), "cronmesh-cluster-"));
  const dbName = `cronmesh_cluster_${process.pid}`;
  const { env: clusterEnv, auth } = await replicaEnv({ logDir, mongoUri: ferret.uri, dbName, etcdEndpoints: etcd.endpoints, ttlMs: options.ttlMs });
  const env = { ...clusterEnv, SHUTDOWN_GRACE_MS: "3000", ...options.env };
  const replicas = await Promise.all(Array.from({ length: options.replicas }, async (_, i) => createReplica([entry], `r${i}`, await freePort(), env, logDir)));
  for (const r of replicas) await r.start();
  const etcdClient = new Etcd3({ hosts: etcd.endpoints });
  const cluster: Cluster = {
    etcd,
    ferret,
    mongoUri: ferret.uri,
    dbName,
    replicas,
    sink,
    ttlMs: options.ttlMs,
    async leader() {
      const elected = await cluster.electedLeader().catch(() => undefined);
      return replicas.find((r) => r.nodeId === elected && r.running());
    },
    electedLeader: async () => {
      const res = await etcdClient.getAll().prefix(`${env.ETCD_PREFIX}election/`).sort("Create", "Ascend").limit(1).exec();
      return res.kvs[0]?.value.toString("utf8");
    },
    anyLive: () => replicas.find((r) => r.running()) ?? replicas[0]!,
    auth,
    clients: (replica) => clientsFor((replica ?? cluster.anyLive()).baseUrl, auth),
    async stop() {
      await Promise.all(replicas.map((r) => r.stop()));
      etcdClient.close();
      await Promise.all([etcd.stop(), ferret.stop(), sink.close()]);
      // CRONMESH_KEEP_LOGS=1 keeps the replicas' logs for a post-mortem.
      if (process.env.CRONMESH_KEEP_LOGS) console.error(`replica logs kept in ${logDir}`);
      else await rm(logDir, { recursive: true, force: true });
    },
  };
  await waitFor(async () => (await cluster.leader()) !== undefined, READY_TIMEOUT_MS, "a leader");
  return cluster;
}

/** Where the replicas of a cluster keep their data, and how they reach each other. */
export interface ReplicaEnvOptions {
  /** A directory of the cluster's own (the API key file is written there). */
  logDir: string;
  mongoUri: string;
  dbName: string;
  etcdEndpoints: string[];
  ttlMs: number;
}

/**
 * The environment of the replicas of one cluster, as a deployment would set it: authentication on
 * (cluster mode requires AUTH_MODE) with an API key of an admin of every project, written to a key
 * file in `logDir`, and secrets sealed. Returns it with the headers that key authenticates.
 */
export async function replicaEnv(o: ReplicaEnvOptions): Promise<{ env: Record<string, string>; auth: Record<string, string> }> {
  const apiKey = makeApiKey("cluster-tests", "*", "admin");
  const keysFile = join(o.logDir, "api-keys.json");
  await writeFile(keysFile, JSON.stringify([apiKey.entry]));
  const env = {
    AUTH_MODE: "api_key",
    AUTH_API_KEYS_FILE: keysFile,
    SECRETS_KEY: makeSecretsKey(),
    MONGODB_URI: o.mongoUri,
    MONGODB_DB: o.dbName,
    ETCD_ENDPOINTS: o.etcdEndpoints.join(","),
    ETCD_TTL_MS: String(o.ttlMs),
    ETCD_PREFIX: `cluster-${process.pid}/`,
    HOST: "127.0.0.1",
    LOG_LEVEL: process.env.CRONMESH_CLUSTER_LOG_LEVEL || "warn",
  };
  return { env, auth: { "x-api-key": apiKey.key } };
}

/**
 * A replica process: `node <argv>` (the service's entry, after any Node flags) with `env` plus its
 * node id and port, logging to `<logDir>/<nodeId>.log`. Not started until {@link Replica.start}.
 */
export function createReplica(argv: string[], nodeId: string, port: number, env: Record<string, string>, logDir: string): Replica {
  const baseUrl = `http://127.0.0.1:${port}`;
  const logFile = join(logDir, `${nodeId}.log`);
  let child: ChildProcess | undefined;
  const gone = () => !child || child.exitCode !== null || child.signalCode !== null;
  return {
    nodeId,
    baseUrl,
    logFile,
    pid: () => child?.pid,
    running: () => !gone(),
    signal: (sig) => void child?.kill(sig),
    async stop() {
      if (child && !gone()) await killChild(child);
    },
    exited: () => new Promise<void>((resolve) => (gone() ? resolve() : child!.once("exit", () => resolve()))),
    async start() {
      mkdirSync(logDir, { recursive: true });
      const log = createWriteStream(logFile, { flags: "a" });
      child = spawn(process.execPath, argv, { env: { ...process.env, ...env, NODE_ID: nodeId, PORT: String(port) }, stdio: ["ignore", "pipe", "pipe"] });
      child.stdout!.pipe(log);
      child.stderr!.pipe(log);
      const started = child;
      await waitFor(
        async () => {
          if (started.exitCode !== null) throw new Error(`replica ${nodeId} exited during start-up:\n${tailOfFile(logFile)}`);
          // Ready, not only listening: the port opens before the store is initialised and the cluster joined.
          return (await fetch(`${baseUrl}/ready`, { signal: AbortSignal.timeout(1000) }).catch(() => undefined))?.ok === true;
        },
        READY_TIMEOUT_MS,
        `replica ${nodeId} to serve`,
      );
    },
  };
}

/** The running leader named by the first live replica that names one. */
export async function findLeader(replicas: Replica[], auth: Record<string, string>): Promise<Replica | undefined> {
  for (const r of replicas.filter((x) => x.running())) {
    const status = await fetch(`${r.baseUrl}/api/v1/cron/cluster/status`, { headers: auth, signal: AbortSignal.timeout(2000) }).then(
      (res) => (res.ok ? (res.json() as Promise<{ leader_id?: string }>) : undefined),
      () => undefined,
    );
    // A replica just restarted names no leader until its session is up, and one may still name a
    // leader that died: ask the next one rather than answer "none".
    const leader = status && replicas.find((x) => x.nodeId === status.leader_id && x.running());
    if (leader) return leader;
  }
  return undefined;
}

/** Polls `check` every 100 ms until it holds; throws after `timeoutMs` naming what was awaited. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

function tailOfFile(path: string): string {
  try {
    return readFileSync(path, "utf8").slice(-4000);
  } catch {
    return "(no log)";
  }
}
