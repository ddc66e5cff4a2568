import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The cluster scenarios take the whole machine: they run on their own (vitest.cluster.config.ts).
    exclude: ["test/cluster/**", "**/node_modules/**"],
    globalSetup: ["test/harness/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Two cores: run files in a couple of forks, not one per core-thread storm.
    pool: "forks",
    maxWorkers: 2,
  },
});
