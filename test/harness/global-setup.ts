import type { TestProject } from "vitest/node";
import { startFerretDb } from "./ferretdb.js";
import "./provided-context.js";

/**
 * Vitest global setup: provides `mongoUri` to the tests. Uses `$MONGODB_URI` when set; otherwise
 * starts one private FerretDB for the whole run and returns the teardown that stops it. Throws when
 * FerretDB cannot start, so the Mongo tests are never silently skipped.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const external = process.env.MONGODB_URI;
  if (external) {
    project.provide("mongoUri", external);
    return undefined;
  }
  const server = await startFerretDb();
  project.provide("mongoUri", server.uri);
  return () => server.stop();
}
