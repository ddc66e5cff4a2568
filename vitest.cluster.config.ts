import { defineConfig } from "vitest/config";

/**
 * The cluster scenarios: real processes (three replicas, a three-member etcd, FerretDB) that take
 * the whole machine, so they run alone, after the main suite (see test/harness/run-tests.mjs).
 */
export default defineConfig({
  test: {
    include: ["test/cluster/**/*.test.ts"],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: "forks",
    maxWorkers: 1,
    fileParallelism: false,
  },
});
