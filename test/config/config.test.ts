import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";

const dir = mkdtempSync(join(tmpdir(), "cronmesh-config-"));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe("configuration", () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("defaults to one node on SQLite in ./data, port 8080", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 8080, sqlitePath: join("data", "cronmesh.db"), mongo: undefined, etcd: undefined, workerConcurrency: 256 });
  });

  it("switches storage to MongoDB when MONGODB_URI is set", () => {
    expect(loadConfig({ MONGODB_URI: "mongodb://127.0.0.1:27017", MONGODB_DB: "x" }).mongo).toEqual({ uri: "mongodb://127.0.0.1:27017", dbName: "x" });
  });

  it("switches to cluster mode when ETCD_ENDPOINTS and MONGODB_URI are set", () => {
    const c = loadConfig({
      MONGODB_URI: "mongodb://127.0.0.1:27017",
      ETCD_ENDPOINTS: "127.0.0.1:2379, http://127.0.0.1:22379",
      ETCD_TTL_MS: "2000",
      AUTH_MODE: "none",
    });
    expect(c.etcd).toEqual({ endpoints: ["http://127.0.0.1:2379", "http://127.0.0.1:22379"], ttlMs: 2000, prefix: "cronmesh/" });
    expect(c.statsFlushMs).toBe(1000);
  });

  it("reads named handlers from a file and from environment variables, the variables winning", () => {
    const handlers = file("handlers.json", JSON.stringify({ reminder_scheduler: { url: "http://127.0.0.1:9/a", method: "post", timeout_ms: 5000 } }));
    const c = loadConfig({ HANDLERS_FILE: handlers, HANDLER_REMINDER_SCHEDULER_URL: "http://127.0.0.1:9/b", HANDLER_REPORT_URL: "http://127.0.0.1:9/r" });
    expect(c.handlers.get("reminder_scheduler")).toMatchObject({ url: "http://127.0.0.1:9/b", method: "POST", timeoutMs: 5000 });
    expect(c.handlers.get("report")).toMatchObject({ url: "http://127.0.0.1:9/r", method: "POST", timeoutMs: 30_000 });
  });

  it("keeps dead letters 30 days unless DEAD_LETTER_RETENTION says otherwise", () => {
    expect(loadConfig({}).deadLetterRetentionMs).toBe(30 * 86_400_000);
    expect(loadConfig({ DEAD_LETTER_RETENTION: "7d12h" }).deadLetterRetentionMs).toBe(7.5 * 86_400_000);
  });

  it("keeps deleted jobs' runs 7 days unless DELETED_JOB_RUN_RETENTION says otherwise", () => {
    expect(loadConfig({}).deletedJobRunRetentionMs).toBe(7 * 86_400_000);
    expect(loadConfig({ DELETED_JOB_RUN_RETENTION: "36h" }).deletedJobRunRetentionMs).toBe(36 * 3_600_000);
  });

  it("bounds the run queue by the measured start rate unless MAX_QUEUED_RUNS is set; manual runs have a minute to start unless MANUAL_START_DEADLINE says otherwise", () => {
    expect(loadConfig({})).toMatchObject({ maxQueuedRuns: undefined, manualStartDeadlineMs: 60_000 });
    expect(loadConfig({ MAX_QUEUED_RUNS: "5000", MANUAL_START_DEADLINE: "5m" })).toMatchObject({ maxQueuedRuns: 5000, manualStartDeadlineMs: 300_000 });
  });

  it("keeps 1 KiB of each response unless RESPONSE_EXCERPT_BYTES says otherwise, at most 64 KiB", () => {
    expect(loadConfig({}).responseExcerptBytes).toBe(1024);
    expect(loadConfig({ RESPONSE_EXCERPT_BYTES: "65536" }).responseExcerptBytes).toBe(65_536);
  });

  it("reads secrets from SECRETS_FILE", () => {
    expect(loadConfig({ SECRETS_FILE: file("secrets.json", '{"token":"t0k"}') }).secretsFile).toEqual({ token: "t0k" });
  });

  it("reads the outbound lists, and lets OUTBOUND_ALLOW admit a handler the defaults deny", () => {
    const c = loadConfig({ OUTBOUND_DENY: "10.0.0.0/8, *.corp", OUTBOUND_ALLOW: "169.254.169.254", HANDLER_META_URL: "http://169.254.169.254/token" });
    expect(c.outbound.deny).toEqual([
      { kind: "range", address: "10.0.0.0", prefix: 8, family: "ipv4" },
      { kind: "host", pattern: "*.corp" },
    ]);
    expect(c.outbound.allow).toEqual([{ kind: "range", address: "169.254.169.254", prefix: 32, family: "ipv4" }]);
    expect(c.handlers.get("meta")?.url).toBe("http://169.254.169.254/token");
    expect(loadConfig({}).outbound).toEqual({ deny: [], allow: [] });
  });

  it("reads CORS_ORIGINS as origins the way browsers send them, and serves the console from dist/console by default", () => {
    expect(loadConfig({ CORS_ORIGINS: " https://Ops.Example.com , http://127.0.0.1:3000,* " }).corsOrigins).toEqual([
      "https://ops.example.com",
      "http://127.0.0.1:3000",
      "*",
    ]);
    expect(loadConfig({}).corsOrigins).toEqual([]);
    expect(loadConfig({}).consoleDir).toBe(join(fileURLToPath(new URL("../..", import.meta.url)), "dist", "console"));
    expect(loadConfig({ CONSOLE_DIR: "web" }).consoleDir).toBe(resolve("web"));
  });

  const refused: [string, Record<string, string>, RegExp][] = [
    ["a CORS origin with a path", { CORS_ORIGINS: "https://ops.example.com/console" }, /CORS_ORIGINS must be a comma-separated list of origins/],
    ["a CORS origin with a trailing slash", { CORS_ORIGINS: "https://ops.example.com/" }, /CORS_ORIGINS must be/],
    ["a CORS origin without a scheme", { CORS_ORIGINS: "ops.example.com" }, /CORS_ORIGINS must be/],
    ["a CORS origin that is not http", { CORS_ORIGINS: "ftp://ops.example.com" }, /CORS_ORIGINS must be/],
    ["a port that is not a number", { PORT: "eighty" }, /PORT must be an integer/],
    ["a port out of range", { PORT: "70000" }, /PORT must be an integer between 0 and 65535/],
    ["an unknown log level", { LOG_LEVEL: "loud" }, /LOG_LEVEL must be one of/],
    ["a MongoDB URI without the scheme", { MONGODB_URI: "localhost:27017" }, /MONGODB_URI must start with mongodb:\/\//],
    ["etcd endpoints without MongoDB", { ETCD_ENDPOINTS: "127.0.0.1:2379" }, /ETCD_ENDPOINTS needs MONGODB_URI/],
    ["an etcd endpoint that is not host:port", { ETCD_ENDPOINTS: "127.0.0.1", MONGODB_URI: "mongodb://x" }, /ETCD_ENDPOINTS must be a comma-separated list/],
    [
      "an etcd lease TTL below two seconds",
      { ETCD_ENDPOINTS: "127.0.0.1:2379", MONGODB_URI: "mongodb://x", ETCD_TTL_MS: "500" },
      /ETCD_TTL_MS must be an integer between 2000/,
    ],
    ["a handlers file that is not JSON", { HANDLERS_FILE: file("bad.json", "{nope") }, /HANDLERS_FILE cannot read/],
    ["a handler with a bad URL", { HANDLER_X_URL: "ftp://x" }, /handlers\.x\.url: must be http or https/],
    ["a secrets file that is not an object of strings", { SECRETS_FILE: file("s.json", '{"a":1}') }, /SECRETS_FILE must hold a JSON object/],
    ["a zero worker pool", { WORKER_CONCURRENCY: "0" }, /WORKER_CONCURRENCY must be an integer between 1/],
    [
      "an outbound deny entry that is neither a range nor a host",
      { OUTBOUND_DENY: "10.0.0.0/8,http://x" },
      /OUTBOUND_DENY must be a comma-separated list of CIDRs and host patterns/,
    ],
    ["an outbound allow range with a bad prefix", { OUTBOUND_ALLOW: "169.254.0.0/40" }, /OUTBOUND_ALLOW must be .*invalid prefix length/],
    [
      "a handler at an address the outbound policy denies",
      { HANDLER_X_URL: "http://169.254.169.254/" },
      /handlers\.x\.url: outbound policy: 169\.254\.169\.254 denied/,
    ],
    ["a dead-letter retention that is not a duration", { DEAD_LETTER_RETENTION: "30" }, /DEAD_LETTER_RETENTION must be a duration such as 30d/],
    ["a dead-letter retention under a minute", { DEAD_LETTER_RETENTION: "10s" }, /DEAD_LETTER_RETENTION must be a duration/],
    [
      "a deleted jobs' run retention that is not a duration",
      { DELETED_JOB_RUN_RETENTION: "a week" },
      /DELETED_JOB_RUN_RETENTION must be a duration such as 30d/,
    ],
    ["a run checkpoint under 50 ms", { RUN_CHECKPOINT_MS: "10" }, /RUN_CHECKPOINT_MS must be an integer between 50/],
    ["an excerpt limit over 64 KiB", { RESPONSE_EXCERPT_BYTES: "65537" }, /RESPONSE_EXCERPT_BYTES must be an integer between 0 and 65536/],
    ["a queue bound of zero", { MAX_QUEUED_RUNS: "0" }, /MAX_QUEUED_RUNS must be an integer between 1/],
    ["a queue bound that is not a number", { MAX_QUEUED_RUNS: "lots" }, /MAX_QUEUED_RUNS must be an integer/],
    [
      "a manual start deadline under a second",
      { MANUAL_START_DEADLINE: "500ms" },
      /MANUAL_START_DEADLINE must be a duration such as 30d, 12h or 90m, between 1s and 1d/,
    ],
  ];
  it.each(refused)("refuses %s with a message naming the variable", (_name, env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});
