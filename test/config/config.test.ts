import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
    const c = loadConfig({ MONGODB_URI: "mongodb://127.0.0.1:27017", ETCD_ENDPOINTS: "127.0.0.1:2379, http://127.0.0.1:22379", ETCD_TTL_MS: "2000", AUTH_MODE: "none" });
    expect(c.etcd).toEqual({ endpoints: ["http://127.0.0.1:2379", "http://127.0.0.1:22379"], ttlMs: 2000, prefix: "cronmesh/" });
    expect(c.statsFlushMs).toBe(1000);
  });

  it("reads named handlers from a file and from environment variables, the variables winning", () => {
    const handlers = file("handlers.json", JSON.stringify({ reminder_scheduler: { url: "http://127.0.0.1:9/a", method: "post", timeout_ms: 5000 } }));
    const c = loadConfig({ HANDLERS_FILE: handlers, HANDLER_REMINDER_SCHEDULER_URL: "http://127.0.0.1:9/b", HANDLER_REPORT_URL: "http://127.0.0.1:9/r" });
    expect(c.handlers.get("reminder_scheduler")).toMatchObject({ url: "http://127.0.0.1:9/b", method: "POST", timeoutMs: 5000 });
    expect(c.handlers.get("report")).toMatchObject({ url: "http://127.0.0.1:9/r", method: "POST", timeoutMs: 30_000 });
  });

  it("reads secrets from SECRETS_FILE", () => {
    expect(loadConfig({ SECRETS_FILE: file("secrets.json", '{"token":"t0k"}') }).secretsFile).toEqual({ token: "t0k" });
  });

  const refused: [string, Record<string, string>, RegExp][] = [
    ["a port that is not a number", { PORT: "eighty" }, /PORT must be an integer/],
    ["a port out of range", { PORT: "70000" }, /PORT must be an integer between 0 and 65535/],
    ["an unknown log level", { LOG_LEVEL: "loud" }, /LOG_LEVEL must be one of/],
    ["a MongoDB URI without the scheme", { MONGODB_URI: "localhost:27017" }, /MONGODB_URI must start with mongodb:\/\//],
    ["etcd endpoints without MongoDB", { ETCD_ENDPOINTS: "127.0.0.1:2379" }, /ETCD_ENDPOINTS needs MONGODB_URI/],
    ["an etcd endpoint that is not host:port", { ETCD_ENDPOINTS: "127.0.0.1", MONGODB_URI: "mongodb://x" }, /ETCD_ENDPOINTS must be a comma-separated list/],
    ["an etcd lease TTL below two seconds", { ETCD_ENDPOINTS: "127.0.0.1:2379", MONGODB_URI: "mongodb://x", ETCD_TTL_MS: "500" }, /ETCD_TTL_MS must be an integer between 2000/],
    ["a handlers file that is not JSON", { HANDLERS_FILE: file("bad.json", "{nope") }, /HANDLERS_FILE cannot read/],
    ["a handler with a bad URL", { HANDLER_X_URL: "ftp://x" }, /handlers\.x\.url: must be http or https/],
    ["a secrets file that is not an object of strings", { SECRETS_FILE: file("s.json", '{"a":1}') }, /SECRETS_FILE must hold a JSON object/],
    ["a zero worker pool", { WORKER_CONCURRENCY: "0" }, /WORKER_CONCURRENCY must be an integer between 1/],
  ];
  it.each(refused)("refuses %s with a message naming the variable", (_name, env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});
