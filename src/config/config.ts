import { existsSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CronError } from "../domain/cron-error.js";
import { parseDuration } from "../domain/duration.js";
import type { HttpTargetSpec } from "../domain/job.js";
import { MANUAL_START_DEADLINE_MS, MIN_START_DEADLINE_MS } from "../domain/start-deadline.js";
import { createOutboundPolicy, parseOutboundList, type OutboundPolicy, type OutboundRules } from "../domain/outbound-policy.js";
import { configError, intVar } from "./env-values.js";
import { parseHandlers } from "./handlers.js";
import { loadSecurityConfig, type SecurityConfig } from "./security-config.js";

export { ConfigError } from "./env-values.js";
import { PROGRESS_DEFAULTS } from "../scheduler/run-progress.js";

/** Everything the service reads from its environment, validated. */
export interface Config {
  host: string;
  port: number;
  /** Embedded store file (when MongoDB is not configured). */
  sqlitePath: string;
  mongo?: { uri: string; dbName: string };
  /** Cluster mode: the etcd coordinator. Absent: one node with the embedded coordinator. */
  etcd?: EtcdConfig;
  nodeId: string;
  /** The address other replicas and operators see for this node. */
  advertiseAddress: string;
  /** Named targets that jobs refer to by `handler`. */
  handlers: Map<string, HttpTargetSpec>;
  /** Secrets for `secret://name` references, from SECRETS_FILE (CRONMESH_SECRET_<NAME> variables are read at use). */
  secretsFile: Record<string, string>;
  /** Runs executing at once on this node. */
  workerConcurrency: number;
  /**
   * MAX_QUEUED_RUNS: the most runs this node accepts and has not started (held for their due
   * time, or waiting for a worker) before staging and claims wait. Absent: the measured start rate
   * × 1 s, at least WORKER_CONCURRENCY (see scheduler/overload.ts).
   */
  maxQueuedRuns?: number;
  /** MANUAL_START_DEADLINE: how late a manual trigger, replay or redrive may still start. */
  manualStartDeadlineMs: number;
  /** Keep-alive connections per target origin. */
  httpConnections: number;
  logLevel: string;
  shutdownGraceMs: number;
  /** Finished runs are added to job counters at most this often (0: at once, batched per turn). */
  statsFlushMs: number;
  /** Job histories are trimmed in batches this often. */
  historyTrimMs: number;
  /** How often every replica scans the store for runs nobody holds. */
  claimScanMs: number;
  /** Run writes within this window share one store call. */
  runWriteBatchMs: number;
  /** A run's intermediate state is stored once it has been going this long, then at most this often. */
  runCheckpointMs: number;
  /** How long a failed run waits in the dead-letter queue for a redrive before it is deleted. */
  deadLetterRetentionMs: number;
  /** OUTBOUND_DENY and OUTBOUND_ALLOW: added to the built-in deny list, and exceptions to it. */
  outbound: OutboundRules;
  /** The built web console served at /ui/ (CONSOLE_DIR; default dist/console of the package). */
  consoleDir: string;
  /** Origins allowed to call the API from a browser (CORS_ORIGINS); `*` allows any. Empty: same origin only. */
  corsOrigins: string[];
  /** Authentication, secrets at rest and limits. */
  security: SecurityConfig;
  /** Pause between two readiness probes of the store (and etcd). */
  readyProbeMs: number;
  /** Bytes of each response body kept on an attempt when its target sets no limit. */
  responseExcerptBytes: number;
  /** How long the runs of a deleted job are kept before the leader deletes them. */
  deletedJobRunRetentionMs: number;
}

/** The etcd coordinator's settings. */
export interface EtcdConfig {
  endpoints: string[];
  /** Session lease TTL: leadership, membership and claims of a dead replica end after it. */
  ttlMs: number;
  /** Key prefix, so that several clusters can share one etcd. */
  prefix: string;
}

const LOG_LEVELS = new Set(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

/** Reads and validates the configuration; throws one clear message naming the variable at fault. */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const dataDir = env.DATA_DIR || "./data";
  const outbound = outboundRules(env);
  const config: Config = {
    host: env.HOST || "0.0.0.0",
    port: intVar(env, "PORT", 8080, 0, 65535),
    sqlitePath: join(dataDir, "cronmesh.db"),
    mongo: env.MONGODB_URI ? { uri: mongoUri(env.MONGODB_URI), dbName: env.MONGODB_DB || "cronmesh" } : undefined,
    etcd: etcdConfig(env),
    nodeId: env.NODE_ID || `${hostname()}-${process.pid}`,
    advertiseAddress: env.ADVERTISE_ADDRESS || "",
    handlers: loadHandlers(env, createOutboundPolicy(outbound)),
    secretsFile: loadSecretsFile(env.SECRETS_FILE),
    workerConcurrency: intVar(env, "WORKER_CONCURRENCY", 256, 1, 100_000),
    maxQueuedRuns: env.MAX_QUEUED_RUNS ? intVar(env, "MAX_QUEUED_RUNS", 0, 1, 10_000_000) : undefined,
    manualStartDeadlineMs: durationVar(env, "MANUAL_START_DEADLINE", MANUAL_START_DEADLINE_MS, MIN_START_DEADLINE_MS, DAY_MS),
    httpConnections: intVar(env, "HTTP_CONNECTIONS", 128, 1, 10_000),
    logLevel: env.LOG_LEVEL || "info",
    shutdownGraceMs: intVar(env, "SHUTDOWN_GRACE_MS", 10_000, 0, 600_000),
    // MongoDB: counters are written once a second per replica, not once per run (see job-stats.ts).
    statsFlushMs: intVar(env, "STATS_FLUSH_MS", env.MONGODB_URI ? 1000 : 0, 0, 600_000),
    historyTrimMs: intVar(env, "HISTORY_TRIM_MS", 30_000, 100, 3_600_000),
    claimScanMs: intVar(env, "CLAIM_SCAN_MS", 2000, 50, 600_000),
    // MongoDB: a final write per run and per round trip is too many; 100 ms groups a busy second into ten.
    runWriteBatchMs: intVar(env, "RUN_WRITE_BATCH_MS", env.MONGODB_URI ? 100 : 0, 0, 10_000),
    // Reads see a run's live state on every replica; the store needs it only for a run that outlives its replica.
    runCheckpointMs: intVar(env, "RUN_CHECKPOINT_MS", PROGRESS_DEFAULTS.checkpointMs, 50, 600_000),
    // A month: long enough to notice a failure and fix its cause, short enough to stay small.
    deadLetterRetentionMs: durationVar(env, "DEAD_LETTER_RETENTION", 30 * DAY_MS, 60_000, 3650 * DAY_MS),
    outbound,
    consoleDir: env.CONSOLE_DIR ? resolve(env.CONSOLE_DIR) : join(packageRoot(), "dist", "console"),
    corsOrigins: corsOrigins(env.CORS_ORIGINS ?? ""),
    security: loadSecurityConfig(env, Boolean(env.ETCD_ENDPOINTS?.trim() && env.MONGODB_URI)),
    // Two seconds: a failure shows within a few seconds, and a ping per probe is nothing to either server.
    readyProbeMs: intVar(env, "READY_PROBE_MS", 2000, 100, 60_000),
    // 1 KiB by default (most answers are a status line); at most 64 KiB, the per-target maximum too.
    responseExcerptBytes: intVar(env, "RESPONSE_EXCERPT_BYTES", 1024, 0, 65_536),
    // A week: time to look at what a deleted job did, not so long that its runs pile up.
    deletedJobRunRetentionMs: durationVar(env, "DELETED_JOB_RUN_RETENTION", 7 * DAY_MS, 60_000, 3650 * DAY_MS),
  };
  if (!LOG_LEVELS.has(config.logLevel)) throw configError("LOG_LEVEL", `must be one of ${[...LOG_LEVELS].join(", ")}`);
  if (config.etcd && !config.mongo) {
    throw configError("ETCD_ENDPOINTS", "needs MONGODB_URI: the replicas of a cluster share one MongoDB (the embedded store is per node)");
  }
  config.advertiseAddress ||= `${config.host === "0.0.0.0" ? hostname() : config.host}:${config.port}`;
  return config;
}

/** Cluster mode settings, when ETCD_ENDPOINTS is set. */
function etcdConfig(env: NodeJS.ProcessEnv): EtcdConfig | undefined {
  const endpoints = (env.ETCD_ENDPOINTS ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (endpoints.length === 0) return undefined;
  for (const e of endpoints) {
    if (!/^(https?:\/\/)?[^\s/]+:\d+$/.test(e)) throw configError("ETCD_ENDPOINTS", `must be a comma-separated list of host:port, got ${JSON.stringify(e)}`);
  }
  // etcd leases count whole seconds, and shorter than 2 s is below what etcd grants reliably.
  const ttlMs = intVar(env, "ETCD_TTL_MS", 3000, 2000, 60_000);
  return { endpoints: endpoints.map((e) => (e.includes("://") ? e : `http://${e}`)), ttlMs, prefix: env.ETCD_PREFIX || "cronmesh/" };
}

const DAY_MS = 86_400_000;

/** A duration variable written as `30d`, `12h`, `90m` (see parseDuration), within [min, max] ms. */
function durationVar(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const ms = parseDuration(raw.trim());
  if (ms === undefined || ms < min || ms > max) {
    throw configError(name, `must be a duration such as 30d, 12h or 90m, between ${min / 1000}s and ${max / DAY_MS}d, got ${JSON.stringify(raw)}`);
  }
  return ms;
}

/**
 * The folder holding package.json, found upwards from this module: the same answer whether the
 * service runs from src/ (tsx) or from the compiled dist/src/.
 */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 8 && !existsSync(join(dir, "package.json")); depth++) dir = dirname(dir);
  return dir;
}

/** CORS_ORIGINS: comma-separated origins (scheme://host[:port], no path) or `*`, normalised as browsers send them. */
function corsOrigins(raw: string): string[] {
  const origins = raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return origins.map((o) => {
    if (o === "*") return o;
    const url = URL.canParse(o) ? new URL(o) : undefined;
    const bare = url && /^https?:$/.test(url.protocol) && url.pathname === "/" && !url.search && !url.hash && !url.username && !o.endsWith("/");
    if (!bare)
      throw configError(
        "CORS_ORIGINS",
        `must be a comma-separated list of origins such as https://ops.example.com (scheme://host[:port], no path) or *, got ${JSON.stringify(o)}`,
      );
    return url.origin;
  });
}

function mongoUri(uri: string): string {
  if (!/^mongodb(\+srv)?:\/\//.test(uri)) throw configError("MONGODB_URI", "must start with mongodb:// or mongodb+srv://");
  return uri;
}

/** OUTBOUND_DENY and OUTBOUND_ALLOW: comma-separated CIDRs, addresses and host patterns. */
function outboundRules(env: NodeJS.ProcessEnv): OutboundRules {
  const list = (name: string) => {
    try {
      return parseOutboundList(env[name] ?? "");
    } catch (err) {
      throw configError(name, `must be a comma-separated list of CIDRs and host patterns: ${(err as Error).message}`);
    }
  };
  return { deny: list("OUTBOUND_DENY"), allow: list("OUTBOUND_ALLOW") };
}

function loadHandlers(env: NodeJS.ProcessEnv, outbound: OutboundPolicy): Map<string, HttpTargetSpec> {
  let fromFile: unknown = {};
  if (env.HANDLERS_FILE) {
    try {
      fromFile = JSON.parse(readFileSync(env.HANDLERS_FILE, "utf8"));
    } catch (err) {
      throw configError("HANDLERS_FILE", `cannot read ${env.HANDLERS_FILE}: ${(err as Error).message}`);
    }
  }
  try {
    return parseHandlers(fromFile, env, outbound);
  } catch (err) {
    if (err instanceof CronError) throw configError(env.HANDLERS_FILE ? "HANDLERS_FILE" : "HANDLER_*", err.message);
    throw err;
  }
}

function loadSecretsFile(path: string | undefined): Record<string, string> {
  if (!path) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw configError("SECRETS_FILE", `cannot read ${path}: ${(err as Error).message}`);
  }
  const ok = typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) && Object.values(parsed).every((v) => typeof v === "string");
  if (!ok) throw configError("SECRETS_FILE", "must hold a JSON object of name → string");
  return parsed as Record<string, string>;
}
