import { randomBytes } from "node:crypto";
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
