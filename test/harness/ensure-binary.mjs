// Makes sure a program the tests need runs, installing its Debian package when it does not.
import { spawnSync } from "node:child_process";

/** True when the binary answers --version. */
function works(bin) {
  const result = spawnSync(bin, ["--version"], { encoding: "utf8", timeout: 30_000 });
  return result.status === 0;
}

/**
 * Uses `$<envVar>` when `envVar` is given and set (and fails if it does not run), else `bin`; when `bin` does not run,
 * installs the Debian package `pkg` with apt-get and checks again. Logs under `[ensure-<name>]`.
 */
export function ensureBinary({ name, bin, envVar, pkg }) {
  const log = (message) => console.log(`[ensure-${name}] ${message}`);
  const run = (command, args) => {
    log(`$ ${command} ${args.join(" ")}`);
    const result = spawnSync(command, args, { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (${result.status ?? result.signal})`);
  };
  const chosen = (envVar && process.env[envVar]) || bin;
  if (works(chosen)) {
    log(`using ${chosen}`);
    return;
  }
  if (envVar && process.env[envVar]) throw new Error(`${envVar}=${chosen} does not run`);
  log(`${name} is missing: installing Debian's ${pkg}`);
  run("apt-get", ["update", "-qq"]);
  run("apt-get", ["install", "-y", "-qq", pkg]);
  if (!works(bin)) throw new Error(`${bin} still does not run after installing ${pkg}`);
}
