import type { ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

const STOP_GRACE_MS = 5_000;
const STDERR_TAIL_CHARS = 4_000;

/** A loopback TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("could not pick a free port");
  return address.port;
}

/** The last few kilobytes of a stream (plus notes), for error messages. */
export interface Tail {
  (): string;
  note(line: string): void;
}

/** Keeps the last few kilobytes of a stream for error messages. */
export function tailOf(stream: NodeJS.ReadableStream | null): Tail {
  let tail = "";
  const append = (text: string) => {
    tail = (tail + text).slice(-STDERR_TAIL_CHARS);
  };
  stream?.on("data", (chunk: Buffer) => append(chunk.toString("utf8")));
  return Object.assign(() => tail, { note: (line: string) => append(`${line}\n`) });
}

/** True when the child is gone (or never started). */
export function isGone(child: ChildProcess): boolean {
  return child.pid === undefined || child.exitCode !== null || child.signalCode !== null;
}

/** Sends SIGTERM to the child, then SIGKILL if it is still alive after a grace period. */
export async function killChild(child: ChildProcess): Promise<void> {
  if (isGone(child)) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const grace = new AbortController();
  const timeout = sleep(STOP_GRACE_MS, "timeout" as const, { signal: grace.signal }).catch(() => "exited" as const);
  const first = await Promise.race([exited.then(() => "exited" as const), timeout]);
  grace.abort(); // do not keep the event loop alive for the rest of the grace period
  if (first === "timeout") {
    child.kill("SIGKILL");
    await exited;
  }
}
