// Makes sure a FerretDB binary is available for the MongoDB store tests.
//
// Usage: node test/harness/ensure-ferretdb.mjs
//
// Always needed: even when MONGODB_URI points the main suite at another server, the cluster
// scenarios start (and restart) a FerretDB of their own. Checks the binary
// at $CRONMESH_FERRETDB_BIN, else ~/.cache/cronmesh/bin/ferretdb, and builds FerretDB there with
// the Go toolchain when it is missing or does not start.
//
// How: `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2` does not work here (the Go
// proxy may refuse its deprecation lookup), and any binary whose main module is FerretDB panics at
// start-up because the module zip lacks the generated build/version/version.txt. So the module is
// fetched through a throw-away module (`go get`), its source copied to a temp dir, the version file
// written, and the command built there. The result goes to a temp name first and is renamed only
// once it answers --version, so a half-built binary is never used.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join } from "node:path";

const FERRETDB_VERSION = "v1.24.2";
const FERRETDB_MODULE = "github.com/FerretDB/FerretDB";
const FERRETDB_PACKAGE = `${FERRETDB_MODULE}/cmd/ferretdb`;

/** Prints one progress line. */
function log(message) {
  console.log(`[ensure-ferretdb] ${message}`);
}

/** Aborts the script (after `finally` clean-ups ran) with a clear message. */
function fail(message) {
  throw new Error(message);
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

/** Runs a command and returns its trimmed stdout; fails the script when it does not succeed. */
function capture(command, args, cwd) {
  const result = spawnSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (result.status !== 0) fail(`${command} ${args.join(" ")} exited with ${result.status ?? result.signal}`);
  return result.stdout.trim();
}

/** Downloads the FerretDB module and returns a writable copy of its source with version.txt set. */
function fetchSource(workDir) {
  run("go", ["mod", "init", "ferretbuild"], workDir);
  run("go", ["get", `${FERRETDB_PACKAGE}@${FERRETDB_VERSION}`], workDir);
  const moduleDir = capture("go", ["list", "-m", "-f", "{{.Dir}}", FERRETDB_MODULE], workDir);
  const sourceDir = join(workDir, "ferretdb-src");
  log(`copying ${moduleDir} to ${sourceDir}`);
  cpSync(moduleDir, sourceDir, { recursive: true });
  run("chmod", ["-R", "u+w", sourceDir], workDir);
  writeFileSync(join(sourceDir, "build", "version", "version.txt"), `${FERRETDB_VERSION}\n`);
  return sourceDir;
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
    const sourceDir = fetchSource(workDir);
    log("building (about two minutes on two cores with a cold cache)...");
    run("go", ["build", "-o", partial, "./cmd/ferretdb"], sourceDir);
    if (!works(partial)) fail(`the freshly built ${partial} does not start (--version failed)`);
    renameSync(partial, bin);
  } finally {
    rmSync(partial, { force: true });
    rmSync(workDir, { recursive: true, force: true });
  }
}

function main() {
  const bin = binaryPath();
  if (works(bin)) {
    log(`FerretDB ready at ${bin}`);
    return;
  }
  log(existsSync(bin) ? `${bin} does not start; rebuilding` : `${bin} is missing; building FerretDB ${FERRETDB_VERSION}`);
  build(bin);
  log(`FerretDB ready at ${bin}`);
}

try {
  main();
} catch (err) {
  console.error(`[ensure-ferretdb] ERROR: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
