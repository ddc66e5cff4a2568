import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Starts `src/main.ts` as its own process (as `npm start` does, minus the build). */
function startProcess(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Resolves with the port from the "cronmesh listening" log line. */
function listeningPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split("\n").find((l) => l.includes("cronmesh listening"));
      if (line) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.once("exit", (code) => reject(new Error(`exited with ${code} before listening: ${out}`)));
  });
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; output: string }> {
  let output = "";
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  return new Promise((resolve) => child.once("exit", (code) => resolve({ code, output })));
}

describe("the service as a process", () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("starts with no configuration but a data dir, serves, and exits 0 on SIGTERM with the data kept", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cronmesh-proc-"));
    dirs.push(dir);
    const child = startProcess({ DATA_DIR: dir });
    children.push(child);
    const port = await listeningPort(child);
    const created = await fetch(`http://127.0.0.1:${port}/api/v1/cron/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "kept", schedule: "0 8 * * *", handler: "h" }),
    });
    expect(created.status).toBe(200);
    const exit = exitOf(child);
    child.kill("SIGTERM");
    expect((await exit).code).toBe(0);

    const again = startProcess({ DATA_DIR: dir });
    children.push(again);
    const port2 = await listeningPort(again);
    const list = (await (await fetch(`http://127.0.0.1:${port2}/api/v1/cron/jobs`)).json()) as { data: { name: string }[] };
    expect(list.data.map((j) => j.name)).toEqual(["kept"]);
    const exit2 = exitOf(again);
    again.kill("SIGTERM");
    expect((await exit2).code).toBe(0);
  }, 60_000);

  it("refuses invalid configuration at start with a message naming the variable", async () => {
    const child = startProcess({ PORT: "eighty" });
    children.push(child);
    const { code, output } = await exitOf(child);
    expect(code).toBe(1);
    expect(output).toContain("invalid configuration: PORT must be an integer");
  }, 60_000);
});
