// Makes sure every server bench:peers starts can run: etcd, FerretDB (built with Go when missing),
// PostgreSQL (FerretDB's PostgreSQL backend) and Redis (BullMQ's), installing Debian's packages
// with apt-get when they are missing. Each script exits non-zero when it cannot.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ensureBinary } from "../../test/harness/ensure-binary.mjs";

for (const script of ["ensure-etcd.mjs", "ensure-ferretdb.mjs", "ensure-postgresql.mjs"]) {
  const result = spawnSync(process.execPath, [fileURLToPath(new URL(`../../test/harness/${script}`, import.meta.url))], { stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
ensureBinary({ name: "redis", bin: "redis-server", pkg: "redis-server" });
