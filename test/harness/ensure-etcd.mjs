// Makes sure an etcd server binary is available for the cluster tests.
//
// Usage: node test/harness/ensure-etcd.mjs
//
// Uses $CRONMESH_ETCD_BIN, else `etcd` on the PATH; when neither works, installs Debian's
// etcd-server package (3.4) with apt-get. The package cannot start itself here (no systemd): the
// tests start their own members on free loopback ports with temporary data directories.
import { spawnSync } from "node:child_process";

function log(message) {
  console.log(`[ensure-etcd] ${message}`);
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

const bin = process.env.CRONMESH_ETCD_BIN || "etcd";
if (works(bin)) {
  log(`using ${bin}`);
} else {
  if (process.env.CRONMESH_ETCD_BIN) throw new Error(`CRONMESH_ETCD_BIN=${bin} does not run`);
  log("etcd is missing: installing Debian's etcd-server");
  run("apt-get", ["update", "-qq"]);
  run("apt-get", ["install", "-y", "-qq", "etcd-server"]);
  if (!works("etcd")) throw new Error("etcd still does not run after installing etcd-server");
}
