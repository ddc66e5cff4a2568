// Makes sure a FerretDB binary is available for the MongoDB store tests.
//
// Usage: node test/harness/ensure-ferretdb.mjs
//
// Does nothing when MONGODB_URI is set (the tests then use that server). Otherwise checks the binary
// at $CRONMESH_FERRETDB_BIN, else ~/.cache/cronmesh/bin/ferretdb, and builds FerretDB there with
// the Go toolchain when it is missing or does not start.
//
// Why not `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2`: the Go proxy may refuse
// the deprecation lookup, and a binary whose main module is FerretDB itself panics at start-up
// because the module zip lacks the generated build/version/version.txt. Building the command from
// a throw-away module avoids both: FerretDB then skips the version file check.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join } from "node:path";

const FERRETDB_VERSION = "v1.24.2";
const FERRETDB_PACKAGE = "github.com/FerretDB/FerretDB/cmd/ferretdb";

/** Prints one progress line. */
function log(message) {
  console.log(`[ensure-ferretdb] ${message}`);
}

/** Prints the error and exits non-zero. */
function fail(message) {
  console.error(`[ensure-ferretdb] ERROR: ${message}`);
  process.exit(1);
}

/** Where the binary lives. */
function binaryPath() {
  return process.env.CRONMESH_FERRETDB_BIN || join(homedir(), ".cache", "cronmesh", "bin", "ferretdb");
}

/** True when the binary exists and answers --version. */
function works(bin) {
  if (!existsSync(bin)) return false;
  const result = spawnSync(bin, ["--version"], { encoding: "utf8", timeout: 30_000 });
  return result.status === 0;
}

/** Runs a command, streaming its output; fails the script when it does not succeed. */
function run(command, args, cwd) {
  log(`$ ${command} ${args.join(" ")}`);
  const result = spawnSync(command, args, { cwd, stdio: "inherit" });
  if (result.error) fail(`could not run ${command}: ${result.error.message}`);
  if (result.status !== 0) fail(`${command} ${args.join(" ")} exited with ${result.status ?? result.signal}`);
}

/** Builds FerretDB into a temporary file next to `bin`, checks it, then renames it into place. */
function build(bin) {
  if (spawnSync("go", ["version"]).status !== 0) {
    fail("the Go toolchain (`go`) is required to build FerretDB; install Go or set MONGODB_URI");
  }
  mkdirSync(dirname(bin), { recursive: true });
  const workDir = mkdtempSync(join(tmpdir(), "ferretbuild-"));
  const partial = `${bin}.partial-${process.pid}`;
  try {
    run("go", ["mod", "init", "ferretbuild"], workDir);
    run("go", ["get", `${FERRETDB_PACKAGE}@${FERRETDB_VERSION}`], workDir);
    log("building (takes a few minutes on two cores)...");
    run("go", ["build", "-o", partial, FERRETDB_PACKAGE], workDir);
    chmodSync(partial, 0o755);
    if (!works(partial)) fail(`the freshly built ${partial} does not start (--version failed)`);
    renameSync(partial, bin);
  } finally {
    rmSync(partial, { force: true });
    rmSync(workDir, { recursive: true, force: true });
  }
}

function main() {
  if (process.env.MONGODB_URI) {
    log("MONGODB_URI is set; FerretDB is not needed");
    return;
  }
  const bin = binaryPath();
  if (works(bin)) {
    log(`FerretDB ready at ${bin}`);
    return;
  }
  log(existsSync(bin) ? `${bin} does not start; rebuilding` : `${bin} is missing; building FerretDB ${FERRETDB_VERSION}`);
  build(bin);
  log(`FerretDB ready at ${bin}`);
}

main();
