import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/harness/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Two cores: run files in a couple of forks, not one per core-thread storm.
    pool: "forks",
    maxWorkers: 2,
  },
});
