// The one test command (`npm test`): makes sure the external servers and the browser the tests
// need can be started (etcd, FerretDB, Chromium), runs the main vitest suite, then the cluster
// scenarios on their own (they start real processes and take the whole machine). Extra arguments
// go to the main suite.
//
// The Mongo tests are never skipped: with MONGODB_URI unset, FerretDB is built if missing, and the
// vitest global setup fails the run if it cannot start. CRONMESH_SKIP_CLUSTER=1 skips the cluster
// scenarios for a quick local run (CI never sets it).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit" });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

// FerretDB is needed by the cluster scenarios even when MONGODB_URI points the main suite elsewhere;
// Chromium by the web console's browser tests (test/console); PostgreSQL by FerretDB's PostgreSQL
// backend when CRONMESH_FERRETDB_BACKEND=postgresql chooses it (see test/harness/ferretdb.ts).
const ensure = ["ensure-etcd.mjs", "ensure-ferretdb.mjs", "ensure-chromium.mjs"];
if (process.env.CRONMESH_FERRETDB_BACKEND === "postgresql") ensure.push("ensure-postgresql.mjs");
for (const script of ensure) {
  const status = run(process.execPath, [`test/harness/${script}`]);
  if (status !== 0) process.exit(status);
}
const reportDir = mkdtempSync(join(tmpdir(), "cronmesh-report-"));
// The whole main suite measures coverage against its thresholds (vitest.config.ts); a run of some files only does not.
const picked = process.argv.slice(2);
const suites = [["main", "vitest.config.ts", picked.length === 0 ? ["--coverage.enabled"] : picked]];
if (!process.env.CRONMESH_SKIP_CLUSTER) suites.push(["cluster", "vitest.cluster.config.ts", []]);
let status = 0;
const totals = { passed: 0, failed: 0, skipped: 0 };
for (const [name, config, extra] of suites) {
  const report = join(reportDir, `${name}.json`);
  const code = run(process.execPath, [
    "node_modules/vitest/vitest.mjs",
    "run",
    "--config",
    config,
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${report}`,
    ...extra,
  ]);
  status ||= code;
  addCounts(report, totals);
}
rmSync(reportDir, { recursive: true, force: true });
// The plain 'N passed, N failed, N skipped' line that CI reads comes last.
console.log(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(status);

/** Adds a vitest JSON report's counts; a missing report counts as one failure. */
function addCounts(file, into) {
  try {
    const r = JSON.parse(readFileSync(file, "utf8"));
    into.passed += r.numPassedTests;
    into.failed += r.numFailedTests;
    into.skipped += r.numPendingTests + r.numTodoTests;
  } catch {
    into.failed += 1;
  }
}
