// Makes sure Debian's Chromium is available for the web console's browser tests.
//
// Usage: node test/harness/ensure-chromium.mjs
//
// Uses $CRONMESH_CHROMIUM when set, else /usr/bin/chromium; when it does not run, installs
// Debian's `chromium` package with apt-get. A browser is never downloaded any other way
// (playwright-core drives the system binary).
import { spawnSync } from "node:child_process";

function log(message) {
  console.log(`[ensure-chromium] ${message}`);
}

/** True when the binary answers --version. */
function works(bin) {
  const result = spawnSync(bin, ["--version"], { encoding: "utf8", timeout: 30_000 });
  return result.status === 0;
}

function run(command, args) {
  log(`$ ${command} ${args.join(" ")}`);
  const result = spawnSync(command, args, { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (${result.status ?? result.signal})`);
}

const bin = process.env.CRONMESH_CHROMIUM || "/usr/bin/chromium";
if (works(bin)) {
  log(`using ${bin}`);
} else {
  if (process.env.CRONMESH_CHROMIUM) throw new Error(`CRONMESH_CHROMIUM=${bin} does not run`);
  log("chromium is missing: installing Debian's chromium");
  run("apt-get", ["update", "-qq"]);
  run("apt-get", ["install", "-y", "-qq", "chromium"]);
  if (!works(bin)) throw new Error("chromium still does not run after installing the chromium package");
}
