import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { CronError } from "../domain/cron-error.js";
import type { HttpTargetSpec } from "../domain/job.js";
import { parseHandlers } from "./handlers.js";

/** Everything the service reads from its environment, validated. */
export interface Config {
  host: string;
  port: number;
  /** Embedded store file (when MongoDB is not configured). */
  sqlitePath: string;
  mongo?: { uri: string; dbName: string };
  etcdEndpoints: string[];
  nodeId: string;
  /** Named targets that jobs refer to by `handler`. */
  handlers: Map<string, HttpTargetSpec>;
  /** Secrets for `secret://name` references, from SECRETS_FILE (CRONMESH_SECRET_<NAME> variables are read at use). */
  secretsFile: Record<string, string>;
  /** Runs executing at once on this node. */
  workerConcurrency: number;
  /** Keep-alive connections per target origin. */
  httpConnections: number;
  logLevel: string;
  shutdownGraceMs: number;
}

const LOG_LEVELS = new Set(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

/** Reads and validates the configuration; throws one clear message naming the variable at fault. */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const dataDir = env.DATA_DIR || "./data";
  const config: Config = {
    host: env.HOST || "0.0.0.0",
    port: intVar(env, "PORT", 8080, 0, 65535),
    sqlitePath: join(dataDir, "cronmesh.db"),
    mongo: env.MONGODB_URI ? { uri: mongoUri(env.MONGODB_URI), dbName: env.MONGODB_DB || "cronmesh" } : undefined,
    etcdEndpoints: (env.ETCD_ENDPOINTS ?? "").split(",").map((s) => s.trim()).filter(Boolean),
    nodeId: env.NODE_ID || `${hostname()}-${process.pid}`,
    handlers: loadHandlers(env),
    secretsFile: loadSecretsFile(env.SECRETS_FILE),
    workerConcurrency: intVar(env, "WORKER_CONCURRENCY", 256, 1, 100_000),
    httpConnections: intVar(env, "HTTP_CONNECTIONS", 128, 1, 10_000),
    logLevel: env.LOG_LEVEL || "info",
    shutdownGraceMs: intVar(env, "SHUTDOWN_GRACE_MS", 10_000, 0, 600_000),
  };
  if (!LOG_LEVELS.has(config.logLevel)) throw configError("LOG_LEVEL", `must be one of ${[...LOG_LEVELS].join(", ")}`);
  if (config.etcdEndpoints.length > 0) {
    throw configError("ETCD_ENDPOINTS", "cluster mode (etcd coordinator) is not available in this version; unset it to run a single node");
  }
  return config;
}

function intVar(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw configError(name, `must be an integer between ${min} and ${max}, got ${JSON.stringify(raw)}`);
  return n;
}

function mongoUri(uri: string): string {
  if (!/^mongodb(\+srv)?:\/\//.test(uri)) throw configError("MONGODB_URI", "must start with mongodb:// or mongodb+srv://");
  return uri;
}

function loadHandlers(env: NodeJS.ProcessEnv): Map<string, HttpTargetSpec> {
  let fromFile: unknown = {};
  if (env.HANDLERS_FILE) {
    try {
      fromFile = JSON.parse(readFileSync(env.HANDLERS_FILE, "utf8"));
    } catch (err) {
      throw configError("HANDLERS_FILE", `cannot read ${env.HANDLERS_FILE}: ${(err as Error).message}`);
    }
  }
  try {
    return parseHandlers(fromFile, env);
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

/** A configuration error: the message names the variable and the fix. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

function configError(variable: string, problem: string): ConfigError {
  return new ConfigError(`invalid configuration: ${variable} ${problem}`);
}
