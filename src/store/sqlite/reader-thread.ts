import type Database from "better-sqlite3";
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { CronError } from "../../domain/cron-error.js";

/** Named parameters of a statement. */
export type ReadParams = Record<string, unknown>;

/**
 * Where job listings read: their id walks and counts can take from milliseconds to most of a
 * second on a million jobs, and on the node's own connection that time is taken from the event
 * loop, so from the slots due meanwhile.
 */
export interface Reader {
  /** Every row of `sql`. */
  all(sql: string, params: ReadParams): Promise<unknown[]>;
  /** The first row of `sql` (undefined when none). */
  get(sql: string, params: ReadParams): Promise<unknown>;
  stop(): Promise<void>;
}

/** Statements the thread keeps prepared by SQL text (one per combination of listing filters). */
const MAX_THREAD_STATEMENTS = 256;

/**
 * The thread's code, evaluated as a script (CommonJS) so that it works the same whether the
 * service runs compiled or from TypeScript sources; the driver's path comes from the main thread.
 * Its connection is read-only: in WAL mode it reads the last commit without ever blocking, or
 * being blocked by, the node's writes.
 */
const THREAD_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.path, { readonly: true, fileMustExist: true });
db.pragma("busy_timeout = 5000");
db.pragma("cache_size = -" + workerData.cacheKib);
const prepared = new Map();
const statement = (sql) => {
  let s = prepared.get(sql);
  if (!s) {
    s = db.prepare(sql);
    if (prepared.size >= workerData.maxStatements) prepared.delete(prepared.keys().next().value);
    prepared.set(sql, s);
  }
  return s;
};
parentPort.on("message", (m) => {
  if (m.stop) {
    try { db.close(); } catch {}
    parentPort.close();
    return;
  }
  try {
    const s = statement(m.sql);
    parentPort.postMessage({ id: m.id, rows: m.one ? s.get(m.params) : s.all(m.params) });
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: { message: String((err && err.message) || err), code: err && err.code } });
  }
});
`;

interface Pending {
  resolve: (rows: unknown) => void;
  reject: (err: unknown) => void;
}

interface Reply {
  id: number;
  rows?: unknown;
  error?: { message: string; code?: string };
}

/**
 * Starts a thread that runs the reads it is sent on its own read-only connection to the database
 * at `path` (WAL mode, so it sees every commit of the node's connection made before the read
 * began). Reads queue on the thread, one at a time; the event loop only sends them and takes the
 * rows. A thread that dies fails the reads in flight (unavailable) and is started again on the
 * next read.
 */
export function startReaderThread(path: string, cacheKib: number): Reader {
  const driver = createRequire(import.meta.url).resolve("better-sqlite3");
  const pending = new Map<number, Pending>();
  let nextId = 0;
  let worker: Worker | undefined;
  let exited: Promise<void> = Promise.resolve();
  const failAll = (err: unknown) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  const spawn = (): Worker => {
    const w = new Worker(THREAD_SOURCE, { eval: true, workerData: { driver, path, cacheKib, maxStatements: MAX_THREAD_STATEMENTS } });
    // Only reads in flight keep the process alive (see `send`).
    w.unref();
    exited = new Promise<void>((resolve) => w.once("exit", () => resolve()));
    w.on("message", (reply: Reply) => {
      const p = pending.get(reply.id);
      if (!p) return;
      pending.delete(reply.id);
      if (pending.size === 0) w.unref();
      if (reply.error) p.reject(Object.assign(new Error(reply.error.message), { code: reply.error.code }));
      else p.resolve(reply.rows);
    });
    const gone = (err?: unknown) => {
      if (worker !== w) return;
      worker = undefined;
      failAll(new CronError("unavailable", "embedded store reader stopped", undefined, { cause: err }));
    };
    w.on("error", gone);
    w.on("exit", () => gone());
    return w;
  };
  const send = (sql: string, params: ReadParams, one: boolean) =>
    new Promise<unknown>((resolve, reject) => {
      worker ??= spawn();
      const id = nextId++;
      pending.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ id, sql, params, one });
    });
  return {
    all: (sql, params) => send(sql, params, false) as Promise<unknown[]>,
    get: (sql, params) => send(sql, params, true),
    async stop() {
      const w = worker;
      worker = undefined;
      if (!w) return;
      failAll(new CronError("unavailable", "embedded store is closing"));
      w.postMessage({ stop: true });
      await exited;
    },
  };
}

/** Reads on the node's own connection (an in-memory database, which no other connection can open). */
export function inProcessReader(statement: (sql: string) => Database.Statement): Reader {
  const run = (sql: string, params: ReadParams, one: boolean) => (one ? statement(sql).get(params) : statement(sql).all(params));
  return {
    all: async (sql, params) => run(sql, params, false) as unknown[],
    get: async (sql, params) => run(sql, params, true),
    stop: async () => undefined,
  };
}
