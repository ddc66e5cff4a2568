// Builds the two offline validators of deploy/ once, into ~/.cache/cronmesh/bin (outside the
// clone, reused by every later run), and prints their paths as JSON on the last line.
//
// Usage: node deploy/validate/ensure-tools.mjs
//
// - docker-compose: the Compose CLI plugin v5.6.0 (the last release that builds with Go 1.26),
//   from the Go module proxy. It also works standalone (`docker-compose config`). Kept while it
//   answers `version` with that release.
// - cronmesh-kube-validate: this folder's Go program (strict decoding with k8s.io/api). Kept while
//   the SHA-256 of its sources (go.mod, go.sum, *.go) matches the stamp written next to it.
//
// A cached tool costs one `version` call or one hash: nothing is built. A build goes to a temp
// name first and is renamed only once it answers, so a half-built binary is never used.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const COMPOSE_VERSION = "v5.6.0";
const COMPOSE_MODULE = "github.com/docker/compose/v5";
const HERE = dirname(fileURLToPath(import.meta.url));
const BIN_DIR = process.env.CRONMESH_TOOLS_DIR || join(homedir(), ".cache", "cronmesh", "bin");

function log(message) {
  console.error(`[ensure-tools] ${message}`);
}

/** Runs a command with inherited output; throws when it fails. */
function run(command, args, options = {}) {
  log(`$ ${command} ${args.join(" ")}`);
  const result = spawnSync(command, args, { stdio: ["ignore", "inherit", "inherit"], ...options });
  if (result.error) throw new Error(`could not run ${command}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} exited with ${result.status ?? result.signal}`);
}

/** The stdout of a command, or undefined when it cannot run or fails. */
function output(command, args) {
  const result = spawnSync(command, args, { encoding: "utf8", timeout: 30_000 });
  return result.status === 0 ? result.stdout : undefined;
}

function requireGo() {
  if (output("go", ["version"]) === undefined) throw new Error("the Go toolchain (`go`) is required to build the deploy/ validators");
}

/** Moves a freshly built binary into place once `works` says it answers. */
function install(partial, bin, works) {
  if (!works(partial)) throw new Error(`the freshly built ${partial} does not run`);
  renameSync(partial, bin);
}

/**
 * The Compose CLI plugin. `go install …@v5.6.0` refuses it (its go.mod has exclude directives), so
 * its module source is downloaded, copied to a writable temp dir and built there as the main
 * module, with the version stamped the way its Makefile does.
 */
function ensureCompose() {
  const bin = join(BIN_DIR, "docker-compose");
  const works = (path) => output(path, ["version"])?.includes(COMPOSE_VERSION.slice(1)) ?? false;
  if (works(bin)) return bin;
  requireGo();
  log(`building docker compose ${COMPOSE_VERSION} (ten minutes or more on two cores with a cold cache)`);
  const download = JSON.parse(output("go", ["mod", "download", "-json", `${COMPOSE_MODULE}@${COMPOSE_VERSION}`]) ?? "{}");
  if (!download.Dir) throw new Error(`go mod download ${COMPOSE_MODULE}@${COMPOSE_VERSION} failed`);
  const workDir = mkdtempSync(join(tmpdir(), "compose-build-"));
  const partial = `${bin}.partial-${process.pid}`;
  try {
    const source = join(workDir, "compose");
    cpSync(download.Dir, source, { recursive: true });
    run("chmod", ["-R", "u+w", source]);
    const ldflags = `-s -w -X ${COMPOSE_MODULE}/internal.Version=${COMPOSE_VERSION}`;
    run("go", ["build", "-trimpath", "-ldflags", ldflags, "-o", partial, "./cmd"], { cwd: source });
    install(partial, bin, works);
  } finally {
    rmSync(partial, { force: true });
    rmSync(workDir, { recursive: true, force: true });
  }
  return bin;
}

/** SHA-256 of the validator's sources, in name order. */
function validatorHash() {
  const hash = createHash("sha256");
  const files = readdirSync(HERE).filter((f) => f === "go.mod" || f === "go.sum" || f.endsWith(".go")).sort();
  for (const f of files) hash.update(`${f}\0`).update(readFileSync(join(HERE, f)));
  return hash.digest("hex");
}

/** The manifest validator, built from this folder with `go build`. */
function ensureValidator() {
  const bin = join(BIN_DIR, "cronmesh-kube-validate");
  const stamp = `${bin}.sha256`;
  const hash = validatorHash();
  if (existsSync(bin) && existsSync(stamp) && readFileSync(stamp, "utf8").trim() === hash) return bin;
  requireGo();
  log("building the manifest validator (deploy/validate)");
  const partial = `${bin}.partial-${process.pid}`;
  try {
    run("go", ["build", "-trimpath", "-buildvcs=false", "-o", partial, "."], { cwd: HERE });
    install(partial, bin, (path) => output(path, ["-version"]) !== undefined);
    writeFileSync(stamp, `${hash}\n`);
  } finally {
    rmSync(partial, { force: true });
  }
  return bin;
}

try {
  mkdirSync(BIN_DIR, { recursive: true });
  const tools = { compose: ensureCompose(), kubeValidate: ensureValidator() };
  console.log(JSON.stringify(tools));
} catch (err) {
  console.error(`[ensure-tools] ERROR: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
