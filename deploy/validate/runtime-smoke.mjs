// Rehearses the Dockerfile's runtime stage without a container engine: the build output and the
// production dependencies only (`npm prune --omit=dev` on a copy of node_modules), run with the
// Dockerfile's own CMD as an unprivileged user (when started as root), probed with the
// Dockerfile's own HEALTHCHECK command, then stopped with SIGTERM, which must exit 0.
//
// Usage: node deploy/validate/runtime-smoke.mjs   (needs `npm run build` first; copies
// node_modules, so it is a manual check, not a CI step). Not a substitute for `docker build`: the
// image's Debian, apt packages and file ownership are not reproduced.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
/** uid/gid of `nobody`: unprivileged, like the image's `node` user. */
const NOBODY = 65534;

/** The JSON-array arguments of the Dockerfile's last `INSTRUCTION [...]` (with `\` continuations joined). */
function dockerfileArray(instruction) {
  const text = readFileSync(join(ROOT, "deploy", "Dockerfile"), "utf8").replace(/\\\n\s*/g, " ");
  const line = text.split("\n").filter((l) => l.startsWith(`${instruction} `)).pop();
  if (!line) throw new Error(`no ${instruction} in the Dockerfile`);
  return JSON.parse(line.slice(line.indexOf("[")));
}

function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Copies what the runtime stage copies, with the dev dependencies pruned. */
function stageRuntime(app) {
  if (!existsSync(join(ROOT, "dist", "src", "main.js"))) throw new Error("run `npm run build` first");
  for (const f of ["package.json", "package-lock.json"]) cpSync(join(ROOT, f), join(app, f));
  cpSync(join(ROOT, "dist"), join(app, "dist"), { recursive: true });
  cpSync(join(ROOT, "node_modules"), join(app, "node_modules"), { recursive: true, dereference: true });
  const prune = spawnSync("npm", ["prune", "--omit=dev", "--no-audit", "--no-fund", "--offline"], { cwd: app, stdio: "inherit" });
  if (prune.status !== 0) throw new Error("npm prune --omit=dev failed");
  if (existsSync(join(app, "node_modules", "typescript"))) throw new Error("dev dependencies survived the prune");
}

/** Starts the Dockerfile's CMD in `app`, as nobody when root. */
function startCmd(app, data, port) {
  const [command, ...args] = dockerfileArray("CMD");
  const asNobody = process.getuid?.() === 0;
  if (asNobody) {
    chownSync(data, NOBODY, NOBODY);
    chmodSync(app, 0o755);
  }
  const env = { PATH: process.env.PATH ?? "", NODE_ENV: "production", HOST: "127.0.0.1", PORT: String(port), DATA_DIR: data, LOG_LEVEL: "warn" };
  const child = spawn(command, args, { cwd: app, env, stdio: ["ignore", "inherit", "inherit"], ...(asNobody ? { uid: NOBODY, gid: NOBODY } : {}) });
  console.log(`started ${[command, ...args].join(" ")} (pid ${child.pid}${asNobody ? ", as nobody" : ""})`);
  return child;
}

/** Runs the HEALTHCHECK command until it succeeds (at most ~30 s). */
async function healthy(port) {
  const [command, ...args] = dockerfileArray("HEALTHCHECK");
  for (let i = 0; i < 60; i++) {
    if (spawnSync(command, args, { env: { ...process.env, PORT: String(port) } }).status === 0) return true;
    await sleep(500);
  }
  return false;
}

async function main() {
  const app = mkdtempSync(join(tmpdir(), "cronmesh-runtime-"));
  const data = mkdtempSync(join(tmpdir(), "cronmesh-runtime-data-"));
  try {
    stageRuntime(app);
    const port = await freePort();
    const child = startCmd(app, data, port);
    const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal)));
    if (!(await healthy(port))) throw new Error("the HEALTHCHECK command never succeeded");
    const ready = await fetch(`http://127.0.0.1:${port}/ready`);
    console.log(`HEALTHCHECK ok; /ready ${ready.status} ${await ready.text()}`);
    if (ready.status !== 200) throw new Error("not ready");
    child.kill("SIGTERM");
    const code = await exited;
    if (code !== 0) throw new Error(`exited with ${code} after SIGTERM`);
    console.log("SIGTERM: exit 0. The runtime stage's layout runs.");
  } finally {
    rmSync(app, { recursive: true, force: true });
    rmSync(data, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`runtime smoke FAILED: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
