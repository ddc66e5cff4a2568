import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import { createEtcdCoordinator } from "../../src/coordination/etcd/etcd-coordinator.js";
import { createSystemClock } from "../../src/runtime/system-clock.js";
import "../harness/provided-context.js";
import { describeCoordinatorContract } from "./coordinator.contract.js";

describeCoordinatorContract("etcd", async () => {
  const coordinator = createEtcdCoordinator({
    nodeId: "node-a", address: "127.0.0.1:0", version: "test", endpoints: inject("etcdEndpoints"),
    ttlMs: 2000, prefix: `test-${randomBytes(4).toString("hex")}/`, clock: createSystemClock(), onError: () => undefined,
  });
  await coordinator.start();
  return {
    coordinator,
    elapse: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    dispose: () => coordinator.stop(),
  };
});
