// Validates deploy/ offline (there is no container engine here), then proves that each check can
// fail by running it on the broken fixtures of testdata/:
//
// 1. deploy/compose.yaml: `docker compose config` (the Compose CLI plugin parses, interpolates and
//    checks the file against the compose schema); the expected services are all there; without
//    the secrets of .env.example it refuses to render (auth cannot be left off by accident).
// 2. deploy/k8s/: every manifest decoded strictly with k8s.io/api and checked across objects
//    (cronmesh-kube-validate, this folder's Go program).
//
// Usage: node deploy/validate/validate.mjs   (builds the tools once; see ensure-tools.mjs)
// What it cannot check: that images build, pull or start, and what the API server's own
// validation and admission would say. Those need a container engine and a cluster.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const DEPLOY = dirname(HERE);
const TESTDATA = join(HERE, "testdata");
const SERVICES = ["cronmesh1", "cronmesh2", "cronmesh3", "etcd1", "etcd2", "etcd3", "jaeger", "mongo-init", "mongo1", "mongo2", "mongo3", "otel-collector"];

let failures = 0;

function check(name, ok, detail = "") {
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${detail && !ok ? `\n${detail}` : ""}`);
  if (!ok) failures++;
}

/** Runs a command; its status and output, never throwing. */
function run(command, args, env = process.env) {
  const result = spawnSync(command, args, { encoding: "utf8", env, timeout: 120_000 });
  return { status: result.status ?? 1, out: `${result.stdout ?? ""}${result.stderr ?? ""}${result.error ? result.error.message : ""}` };
}

/** The tools' paths, built if missing (their build log goes to stderr). */
function ensureTools() {
  const result = spawnSync(process.execPath, [join(HERE, "ensure-tools.mjs")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (result.status !== 0) throw new Error("could not build the validation tools");
  return JSON.parse(result.stdout.trim().split("\n").pop());
}

/**
 * `docker compose …` through the docker CLI with the plugin found in a private DOCKER_CONFIG, or
 * the plugin binary alone when there is no docker CLI. The environment holds nothing but PATH and
 * that config, so no variable of the caller's shell fills in for a missing setting.
 */
function composeRunner(pluginPath) {
  const config = mkdtempSync(join(tmpdir(), "cronmesh-docker-config-"));
  mkdirSync(join(config, "cli-plugins"));
  symlinkSync(pluginPath, join(config, "cli-plugins", "docker-compose"));
  const env = { PATH: process.env.PATH ?? "", HOME: config, DOCKER_CONFIG: config };
  const viaDocker = run("docker", ["compose", "version"], env).status === 0;
  console.log(`compose: ${viaDocker ? "docker compose (CLI plugin)" : `${pluginPath} (standalone)`}`);
  return {
    compose: (args) => (viaDocker ? run("docker", ["compose", ...args], env) : run(pluginPath, args, env)),
    dispose: () => rmSync(config, { recursive: true, force: true }),
  };
}

function validateCompose(pluginPath) {
  const { compose, dispose } = composeRunner(pluginPath);
  const empty = mkdtempSync(join(tmpdir(), "cronmesh-env-"));
  writeFileSync(join(empty, "empty.env"), "");
  try {
    const file = join(DEPLOY, "compose.yaml");
    const withEnv = ["-f", file, "--env-file", join(DEPLOY, ".env.example")];
    const config = compose([...withEnv, "config", "--quiet"]);
    check("compose.yaml: docker compose config", config.status === 0, config.out);
    const services = compose([...withEnv, "config", "--services"]);
    const listed = services.out.trim().split("\n").sort();
    check("compose.yaml: every service is defined", JSON.stringify(listed) === JSON.stringify(SERVICES), `got ${listed.join(", ")}`);
    const noSecrets = compose(["-f", file, "--env-file", join(empty, "empty.env"), "config", "--quiet"]);
    check("compose.yaml: refused without the auth secrets", noSecrets.status !== 0 && /CRONMESH_JWT_SECRET/.test(noSecrets.out), noSecrets.out);
    const broken = compose(["-f", join(TESTDATA, "compose-unknown-key.yaml"), "config", "--quiet"]);
    check("testdata/compose-unknown-key.yaml: refused", broken.status !== 0 && /restart_policy/.test(broken.out), broken.out);
  } finally {
    rmSync(empty, { recursive: true, force: true });
    dispose();
  }
}

function validateManifests(validator) {
  const manifests = run(validator, [join(DEPLOY, "k8s")]);
  check(`k8s/: ${manifests.out.trim().split("\n")[0]}`, manifests.status === 0, manifests.out);
  const fixtures = readdirSync(TESTDATA).filter((f) => f.startsWith("k8s-")).map((f) => join(TESTDATA, f));
  const refused = run(validator, ["-expect-fail", ...fixtures]);
  check(`testdata/k8s-*.yaml: each of ${fixtures.length} refused for its stated reason`, refused.status === 0 && fixtures.length > 0, refused.out);
}

try {
  if (!existsSync(join(DEPLOY, "compose.yaml"))) throw new Error(`no compose.yaml in ${DEPLOY}`);
  const tools = ensureTools();
  validateCompose(tools.compose);
  validateManifests(tools.kubeValidate);
} catch (err) {
  console.error(`ERROR: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
if (failures > 0) {
  console.error(`${failures} deploy/ check(s) failed`);
  process.exit(1);
}
console.log("deploy/ validated (offline: no image was built or run)");
