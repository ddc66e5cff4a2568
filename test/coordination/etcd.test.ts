import { randomBytes } from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import { createEtcdCoordinator } from "../../src/coordination/etcd/etcd-coordinator.js";
import { CronError } from "../../src/domain/cron-error.js";
import { createSystemClock } from "../../src/runtime/system-clock.js";
import { startEtcdCluster } from "../harness/etcd.js";
import { describeCoordinatorContract } from "./coordinator.contract.js";
import { testEtcdCoordinator } from "./etcd-fixture.js";

describeCoordinatorContract("etcd", async () => {
  const coordinator = testEtcdCoordinator("node-a", `test-${randomBytes(4).toString("hex")}/`, 2000);
  await coordinator.start();
  return {
    coordinator,
    elapse: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    dispose: () => coordinator.stop(),
  };
});

describe("etcd coordinator ping", () => {
  it("fails with unavailable while etcd is down and answers again once it is back", async () => {
    const etcd = await startEtcdCluster(1);
    const coordinator = createEtcdCoordinator({
      nodeId: "node-ping",
      address: "127.0.0.1:0",
      version: "test",
      endpoints: etcd.endpoints,
      ttlMs: 2000,
      prefix: "ping/",
      clock: createSystemClock(),
      onError: () => undefined,
    });
    try {
      await coordinator.start();
      await expect(coordinator.ping()).resolves.toBeUndefined();
      await etcd.members[0]!.stop();
      const refused = await coordinator.ping().catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(CronError);
      expect((refused as CronError).code).toBe("unavailable");
      await etcd.members[0]!.start();
      await vi.waitFor(() => coordinator.ping(), { timeout: 15_000, interval: 200 });
    } finally {
      await coordinator.stop();
      await etcd.stop();
    }
  }, 60_000);
});
