// The one test command (`npm test`): makes sure the external servers the tests need can be
// started (etcd, FerretDB), then runs the whole vitest suite. Extra arguments go to vitest.
//
// The Mongo tests are never skipped: with MONGODB_URI unset, FerretDB is built if missing, and the
// vitest global setup fails the run if it cannot start.
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

for (const [script, needed] of [["ensure-etcd.mjs", true], ["ensure-ferretdb.mjs", !process.env.MONGODB_URI]]) {
  if (!needed) continue;
  const status = run(process.execPath, [`test/harness/${script}`]);
  if (status !== 0) process.exit(status);
}
const reportDir = mkdtempSync(join(tmpdir(), "cronmesh-report-"));
const report = join(reportDir, "vitest.json");
const status = run(process.execPath, [
  "node_modules/vitest/vitest.mjs", "run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`,
  ...process.argv.slice(2),
]);
printSummary(report);
rmSync(reportDir, { recursive: true, force: true });
process.exit(status);

/** Ends with the plain 'N passed, N failed, N skipped' line that CI reads. */
function printSummary(file) {
  try {
    const r = JSON.parse(readFileSync(file, "utf8"));
    const skipped = r.numPendingTests + r.numTodoTests;
    console.log(`\n${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
  } catch {
    console.log("\n0 passed, 1 failed (no test report was written)");
  }
}
