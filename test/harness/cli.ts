import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** The built `cronmesh` binary (package.json "bin"). */
export const CLI = fileURLToPath(new URL("../../dist/src/cli/cronmesh.js", import.meta.url));
/** The time zone the CLI runs in: a half-hour offset shows that times are printed in local time. */
export const CLI_TZ = "Asia/Kolkata";

/** Builds dist/ with the project's tsc (once per test file, before any server starts). */
export function buildCli(): void {
  execFileSync(process.execPath, [fileURLToPath(new URL("../../node_modules/typescript/bin/tsc", import.meta.url)), "-p", "tsconfig.json"], {
    cwd: ROOT,
    stdio: "inherit",
  });
}

/** What one invocation of the CLI did. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Options of one invocation. */
export interface CliOptions {
  /** Extra environment (the CLI sees no other CRONMESH_* variable than these). */
  env?: Record<string, string>;
  /** Written to its stdin. */
  input?: string;
  /** Killed after this long (default 20 s). */
  timeoutMs?: number;
}

function cliEnv(env: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", TZ: CLI_TZ, ...env };
}

/** Starts the CLI as its own process, output piped. */
export function spawnCli(args: readonly string[], options: CliOptions = {}): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: cliEnv(options.env), stdio: ["pipe", "pipe", "pipe"] });
}

/** Runs the CLI to its end (asynchronously: the server under test lives in this process). */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const child = spawnCli(args, options);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
  child.stdin!.end(options.input ?? "");
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 20_000);
  return new Promise((resolve) =>
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

/** A CLI process whose stdout is read line by line as it writes. */
export interface CliStream {
  lines: string[];
  /** Resolves once `predicate` holds for the lines so far; rejects after `timeoutMs` or if the process ends. */
  waitFor(predicate: (lines: string[]) => boolean, timeoutMs: number): Promise<string[]>;
  /** Ends the process (by default with SIGINT, as Ctrl-C does) and resolves with its exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** Starts a long-running CLI command (runs watch) and collects its stdout lines. */
export function streamCli(args: readonly string[], options: CliOptions = {}): CliStream {
  const child = spawnCli(args, options);
  const lines: string[] = [];
  let partial = "";
  let stderr = "";
  const listeners = new Set<() => void>();
  child.stdout!.on("data", (c: Buffer) => {
    const parts = (partial + c.toString()).split("\n");
    partial = parts.pop()!;
    lines.push(...parts);
    for (const l of listeners) l();
  });
  child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("close", (code, signal) => resolve({ code, signal })),
  );
  return {
    lines,
    waitFor: (predicate, timeoutMs) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (!predicate(lines)) return;
          done();
          resolve(lines);
        };
        const timer = setTimeout(
          () => (done(), reject(new Error(`cli stream: condition not met after ${timeoutMs} ms; lines: ${lines.join("\n")}; stderr: ${stderr}`))),
          timeoutMs,
        );
        const ended = () => (done(), reject(new Error(`cli stream ended: ${stderr}`)));
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off("close", ended);
        };
        listeners.add(check);
        child.once("close", ended);
        check();
      }),
    async stop(signal = "SIGINT") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return { ...(await exited), stderr };
    },
  };
}
