// The contestants of bench/peers. Each runs in processes of its own (so its CPU and memory are its
// own), sends the same POST with the same headers to the bench's sink, and is told the scenario's
// jobs: the raw loop, croner and BullMQ through a child process speaking post.mjs's protocol;
// cronmesh through its API, embedded (one node, SQLite) or as a cluster (three replicas, etcd, a
// MongoDB-wire server).
import { fork, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import Database from "better-sqlite3";
import { MongoClient } from "mongodb";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { ConcurrencyPolicy, JobSchema } from "../../gen/cronmesh/v1/job_pb.js";
import { clientsFor } from "../../test/harness/clients.js";
import { createReplica, findLeader, replicaEnv, waitFor, type Replica } from "../../test/harness/cluster.js";
import { startEtcdCluster, type EtcdCluster } from "../../test/harness/etcd.js";
import { startFerretDb, type FerretDbBackend, type FerretDbServer } from "../../test/harness/ferretdb.js";
import { freePort, isGone, killChild, tailOf } from "../../test/harness/processes.js";
import type { Prepared } from "./scenarios.js";
import type { Roles } from "./usage.js";

/** A contestant set up for one run. */
export interface Running {
  /** Root process ids per role (their descendants count too). */
  roles: Roles;
  /** Creates the scenario's jobs, POSTing to `sinkUrl`; resolves once every one exists. */
  schedule(p: Prepared, sinkUrl: string): Promise<void>;
  /** Counters of its servers (requests by command), read at the window's start and end. */
  counters?(): Promise<Record<string, number>>;
  /** Facts worth recording at the window's start (the leader). */
  info?(): Promise<Record<string, unknown>>;
  /** Stops firing, then counts the runs of these slots its store holds as succeeded. */
  persisted?(slots: number[]): Promise<number>;
  /** Stops everything it started. */
  stop(): Promise<Record<string, unknown> | void>;
}

/** A contestant. */
export interface Contestant {
  name: string;
  description: string;
  /** Time its burst jobs may take to create (BENCH_BURST_LEAD_MS overrides every contestant's). */
  burstLeadMs: number;
  /** The scenarios it runs when none of its own are chosen by name (all when absent). */
  defaultScenarios?: string[];
  start(): Promise<Running>;
}

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** The service as `npm start` runs it: compiled, with the same Node flags. */
/** BENCH_PROFILE=dir: every cronmesh process writes a V8 CPU profile there when it stops. */
const PROFILE_ARGV = process.env.BENCH_PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
const SERVICE_ARGV = ["--expose-gc", "--max-semi-space-size=32", ...PROFILE_ARGV, join(ROOT, "dist", "src", "main.js")];
/** The service's connections to the sink and its worker pool, as bench:fire sets them. */
const SERVICE_ENV = { WORKER_CONCURRENCY: "320", HTTP_CONNECTIONS: "256", LOG_LEVEL: "warn", HOST: "127.0.0.1" };
/** Jobs created at once through the API. */
const CREATE_CONCURRENCY = 32;
/** How long a contestant process may take to answer a step (set-up of 10,000 schedulers included). */
const STEP_TIMEOUT_MS = 300_000;

/** Resolves with the child's next message of `type`; rejects when it exits first or the deadline passes. */
function nextMessage<T>(child: ChildProcess, type: string, timeoutMs = STEP_TIMEOUT_MS): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no "${type}" from the contestant process within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (m: { type: string }) => m.type === type && done(undefined, m as T);
    const onExit = (code: number | null) => done(new Error(`the contestant process exited (${code}) before "${type}"`));
    const done = (err?: Error, value?: T) => {
      clearTimeout(timer);
      child.off("message", onMessage).off("exit", onExit);
      if (err) reject(err);
      else resolve(value!);
    };
    child.on("message", onMessage).once("exit", onExit);
  });
}

/** A contestant process speaking post.mjs's protocol (plain Node: no loader of the bench's; local time UTC). */
async function startProcess(script: string, extra: () => Record<string, unknown>): Promise<Running & { pid: number }> {
  const child = fork(fileURLToPath(new URL(script, import.meta.url)), [], {
    execArgv: [],
    env: { ...process.env, TZ: "UTC" },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  await nextMessage(child, "ready");
  return {
    pid: child.pid!,
    roles: () => ({ node: [child.pid!] }),
    async schedule(p, sinkUrl) {
      child.send({ type: "schedule", sinkUrl, patterns: p.patterns, ...extra(), ...planOf(script, p) });
      await nextMessage(child, "scheduled");
    },
    async stop() {
      if (isGone(child)) return;
      child.send({ type: "stop" });
      const counts = await nextMessage<Record<string, unknown>>(child, "stopped", 30_000).catch(() => undefined);
      await killChild(child);
      return counts;
    },
  };
}

/** How far ahead the raw loop is given its instants: past any scenario's measured window. */
const RAW_HORIZON_MS = 240_000;

/** The raw loop's plan: every instant a group of jobs is due, from now on. */
function planOf(script: string, p: Prepared): Record<string, unknown> {
  if (!script.startsWith("./raw")) return {};
  const now = Date.now();
  return { groups: p.groups, fires: p.fires(now + 200, now + RAW_HORIZON_MS) };
}

const raw: Contestant = {
  name: "raw",
  description: "a bare undici loop: a timer per due instant, its requests sent at once",
  burstLeadMs: 15_000,
  start: () => startProcess("./raw-process.mjs", () => ({})),
};

const croner: Contestant = {
  name: "croner",
  description: "croner, one Cron per job in one process, nothing stored",
  burstLeadMs: 15_000,
  start: () => startProcess("./croner-process.mjs", () => ({})),
};

/** True once Redis answers PING on the port. */
function redisPong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1", () => socket.write("PING\r\n"));
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on("data", (d) => done(d.toString().startsWith("+PONG")));
    socket.on("error", () => done(false));
  });
}

/** Debian's redis-server on a free loopback port, nothing persisted (no snapshots, no append-only file). */
async function startRedis(): Promise<{ port: number; pid: number; stop(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "cronmesh-redis-"));
  const port = await freePort();
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  const stderr = tailOf(child.stderr);
  const stop = async () => {
    await killChild(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      async () => {
        if (isGone(child)) throw new Error(`redis-server exited: ${stderr()}`);
        return redisPong(port);
      },
      30_000,
      "redis-server",
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, pid: child.pid!, stop };
}

const bullmq: Contestant = {
  name: "bullmq",
  description: "BullMQ job schedulers (upsertJobScheduler) and a worker (concurrency 256) in one process, on Redis",
  burstLeadMs: 60_000,
  async start() {
    const redis = await startRedis();
    const proc = await startProcess("./bullmq-process.mjs", () => ({ redisPort: redis.port })).catch(async (err: unknown) => {
      await redis.stop();
      throw err;
    });
    return {
      ...proc,
      roles: () => ({ node: [proc.pid], redis: [redis.pid] }),
      async stop() {
        const counts = await proc.stop();
        await redis.stop();
        return counts ?? undefined;
      },
    };
  },
};

/** How often job creation reports its progress. */
const PROGRESS_EVERY_MS = 10_000;

/**
 * Creates one job per pattern through the API (spread over the nodes given), `CREATE_CONCURRENCY`
 * at a time; with `perProject`, `perProject` jobs to a project (`peers-0`, `peers-1`, …), else all
 * in the default project.
 */
async function createJobs(baseUrls: string[], auth: Record<string, string>, patterns: string[], sinkUrl: string, perProject?: number): Promise<void> {
  const clients = baseUrls.map((u) => clientsFor(u, auth));
  let next = 0;
  let done = 0;
  const progress = setInterval(
    () => console.log(`  creating jobs: ${done.toLocaleString("en")} of ${patterns.length.toLocaleString("en")}`),
    PROGRESS_EVERY_MS,
  );
  const worker = async () => {
    while (next < patterns.length) {
      const i = next++;
      const job = create(JobSchema, {
        name: `peer ${i}`,
        schedule: patterns[i]!,
        timezone: "UTC",
        concurrencyPolicy: ConcurrencyPolicy.ALLOW,
        target: { url: `${sinkUrl}/b` },
        ...(perProject ? { projectId: `peers-${Math.floor(i / perProject)}` } : {}),
      });
      await clients[i % clients.length]!.cron.createJob({ job });
      done++;
    }
  };
  try {
    await Promise.all(Array.from({ length: CREATE_CONCURRENCY }, worker));
  } finally {
    clearInterval(progress);
  }
}

const embedded: Contestant = {
  name: "embedded",
  description: "cronmesh embedded: one node, SQLite, every run stored",
  burstLeadMs: 60_000,
  async start() {
    const dataDir = await mkdtemp(join(tmpdir(), "cronmesh-peers-"));
    const node = createReplica(SERVICE_ARGV, "embedded", await freePort(), { ...SERVICE_ENV, DATA_DIR: dataDir }, dataDir);
    await node.start();
    return {
      roles: () => ({ node: [node.pid()].filter((p): p is number => p !== undefined) }),
      schedule: (p, sinkUrl) => createJobs([node.baseUrl], {}, p.patterns, sinkUrl),
      async persisted(slots) {
        await node.stop();
        const db = new Database(join(dataDir, "cronmesh.db"), { readonly: true });
        try {
          const wanted = new Set(slots);
          const rows = db.prepare("SELECT json_extract(doc, '$.scheduledAt') AS at FROM runs WHERE status = 'succeeded'").all() as { at: number }[];
          return rows.filter((r) => wanted.has(r.at)).length;
        } finally {
          db.close();
        }
      },
      async stop() {
        await node.stop();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  },
};

/** Sums of a Prometheus endpoint's counters, by family and one label (`<prefix>.<label value>`). */
async function scrape(url: string, families: Record<string, string>, prefix: string): Promise<Record<string, number>> {
  const text = await fetch(url, { signal: AbortSignal.timeout(5000) }).then(
    (r) => r.text(),
    () => "",
  );
  const out: Record<string, number> = {};
  for (const family of parsePrometheusTextFormat(text) as { name: string; metrics: { labels?: Record<string, string>; value?: string }[] }[]) {
    const label = families[family.name];
    if (!label) continue;
    for (const m of family.metrics) {
      const key = `${prefix}.${m.labels?.[label] ?? "?"}`;
      out[key] = (out[key] ?? 0) + Number(m.value ?? 0);
    }
  }
  return out;
}

/** Replicas of the cluster contestants, and etcd members (BENCH_ETCD_MEMBERS, default 1: a 2-core machine). */
const REPLICAS = 3;
const ETCD_MEMBERS = Number(process.env.BENCH_ETCD_MEMBERS ?? 1);
/** Jobs per project in the cluster contestants (BENCH_JOBS_PER_PROJECT; 0, the default: all in one, as the others). */
const JOBS_PER_PROJECT = Number(process.env.BENCH_JOBS_PER_PROJECT ?? 0) || undefined;
/** The lease TTL of the cluster scenarios' replicas. */
const TTL_MS = 3000;

interface ClusterParts {
  etcd: EtcdCluster;
  ferret: FerretDbServer;
  replicas: Replica[];
  auth: Record<string, string>;
  dbName: string;
  logDir: string;
}

/** etcd, FerretDB on `backend` and three replicas started as `npm start` runs the service, authentication on. */
async function startClusterParts(backend: FerretDbBackend): Promise<ClusterParts> {
  const [etcd, ferret] = await Promise.all([startEtcdCluster(ETCD_MEMBERS), startFerretDb(backend)]);
  const logDir = await mkdtemp(join(tmpdir(), "cronmesh-peers-cluster-"));
  const dbName = `cronmesh_peers_${process.pid}`;
  const { env, auth } = await replicaEnv({ logDir, mongoUri: ferret.uri, dbName, etcdEndpoints: etcd.endpoints, ttlMs: TTL_MS });
  const replicas = await Promise.all(
    Array.from({ length: REPLICAS }, async (_, i) =>
      createReplica(SERVICE_ARGV, `r${i}`, await freePort(), { ...env, ...SERVICE_ENV, SHUTDOWN_GRACE_MS: "3000" }, logDir),
    ),
  );
  const parts = { etcd, ferret, replicas, auth, dbName, logDir };
  try {
    for (const r of replicas) await r.start();
    await waitFor(async () => (await findLeader(replicas, auth)) !== undefined, 30_000, "a leader");
  } catch (err) {
    await stopClusterParts(parts);
    throw err;
  }
  return parts;
}

async function stopClusterParts(c: ClusterParts): Promise<void> {
  await Promise.all(c.replicas.map((r) => r.stop()));
  await Promise.all([c.etcd.stop(), c.ferret.stop()]);
  if (process.env.BENCH_KEEP_LOGS) console.error(`replica logs kept in ${c.logDir}`);
  else await rm(c.logDir, { recursive: true, force: true });
}

/** cronmesh's cluster mode on FerretDB's `backend`. */
function cluster(backend: FerretDbBackend, defaultScenarios?: string[]): Contestant {
  return {
    name: backend === "sqlite" ? "cluster-sqlite" : "cluster-pg",
    description: `cronmesh cluster: ${REPLICAS} replicas, etcd (${ETCD_MEMBERS} member${ETCD_MEMBERS > 1 ? "s" : ""}), FerretDB on ${backend === "sqlite" ? "SQLite" : "PostgreSQL"}, API keys; every run stored`,
    burstLeadMs: backend === "sqlite" ? 300_000 : 120_000,
    ...(defaultScenarios ? { defaultScenarios } : {}),
    async start() {
      const c = await startClusterParts(backend);
      const pidsOf = (xs: (number | undefined)[]) => xs.filter((p): p is number => p !== undefined);
      return {
        roles: () => ({
          ...Object.fromEntries(c.replicas.map((r) => [`replica ${r.nodeId}`, pidsOf([r.pid()])])),
          etcd: pidsOf(c.etcd.members.map((m) => m.pid())),
          ferretdb: pidsOf([c.ferret.pids().ferretdb]),
          ...(backend === "postgresql" ? { postgres: pidsOf([c.ferret.pids().postgres]) } : {}),
        }),
        schedule: (p, sinkUrl) =>
          createJobs(
            c.replicas.map((r) => r.baseUrl),
            c.auth,
            p.patterns,
            sinkUrl,
            JOBS_PER_PROJECT,
          ),
        info: async () => ({ leader: (await findLeader(c.replicas, c.auth))?.nodeId }),
        async counters() {
          const [wire, etcd] = await Promise.all([
            scrape(`${c.ferret.debugUrl}/debug/metrics`, { ferretdb_client_requests_total: "command" }, "wire"),
            scrape(`${c.etcd.endpoints[0]}/metrics`, { grpc_server_msg_received_total: "grpc_method" }, "etcd"),
          ]);
          return { ...wire, ...etcd };
        },
        async persisted(slots) {
          await Promise.all(c.replicas.map((r) => r.stop()));
          const client = new MongoClient(c.ferret.uri);
          try {
            const finals = client.db(c.dbName).collection("run_finals");
            return await finals.countDocuments({ status: "succeeded", scheduledAt: { $in: slots } });
          } finally {
            await client.close();
          }
        },
        stop: () => stopClusterParts(c),
      };
    },
  };
}

/** Every contestant, in the order a run takes them. cluster-sqlite runs only at 1,000 a second unless chosen: its server saturates far below. */
export const CONTESTANTS: Contestant[] = [raw, croner, bullmq, embedded, cluster("postgresql"), cluster("sqlite", ["every-1000"])];
