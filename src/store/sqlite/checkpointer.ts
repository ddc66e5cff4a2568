import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

/**
 * How often the background thread copies the write-ahead log into the database file. Each pass
 * is PASSIVE: it never waits for, nor blocks, the node's own connection.
 */
export const CHECKPOINT_EVERY_MS = 1000;

/**
 * WAL pages after which the node's own connection checkpoints by itself: a safety net far above
 * what the background thread lets accumulate (SQLite's default, 1,000 pages, would make the
 * event loop wait for disk writes and an fsync in the middle of a busy second).
 */
export const FOREGROUND_CHECKPOINT_PAGES = 50_000;

/** The background checkpointer of one database file. */
export interface Checkpointer {
  stop(): Promise<void>;
}

/**
 * The thread's code. It is evaluated as a script (CommonJS), so it works the same whether the
 * service runs compiled or from TypeScript sources; the driver's path comes from the main thread.
 */
const THREAD_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma("busy_timeout = 1000");
const timer = setInterval(() => {
  try { db.pragma("wal_checkpoint(PASSIVE)"); } catch (err) { parentPort.postMessage(String(err)); }
}, workerData.everyMs);
parentPort.on("message", () => {
  clearInterval(timer);
  try { db.close(); } catch {}
  parentPort.close();
});
`;

/**
 * Starts a thread that checkpoints the WAL of the database at `path` every `everyMs`, so the
 * node's event loop never pays for it. Failures are reported and the next pass tries again.
 */
export function startCheckpointer(path: string, onError: (message: string) => void, everyMs = CHECKPOINT_EVERY_MS): Checkpointer {
  const driver = createRequire(import.meta.url).resolve("better-sqlite3");
  const worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { driver, path, everyMs } });
  worker.unref();
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  worker.on("message", (message: string) => onError(message));
  worker.on("error", (err) => onError(String(err)));
  return {
    async stop() {
      worker.postMessage("stop");
      await exited;
    },
  };
}
