import type { TestProject } from "vitest/node";
import { startEtcdCluster } from "./etcd.js";
import { startFerretDb } from "./ferretdb.js";
import "./provided-context.js";

/**
 * Vitest global setup: provides `mongoUri` and `etcdEndpoints` to the tests. Uses `$MONGODB_URI`
 * when set; otherwise starts one private FerretDB for the whole run. Starts one single-member etcd
 * (cluster tests start clusters of their own). Throws when a server cannot start, so the tests
 * that need it are never silently skipped. Returns the teardown that stops what it started.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const etcd = await startEtcdCluster(1);
  project.provide("etcdEndpoints", etcd.endpoints);
  const external = process.env.MONGODB_URI;
  if (external) {
    project.provide("mongoUri", external);
    return () => etcd.stop();
  }
  const server = await startFerretDb();
  project.provide("mongoUri", server.uri);
  return async () => {
    await Promise.all([server.stop(), etcd.stop()]);
  };
}
