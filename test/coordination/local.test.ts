import { createLocalCoordinator } from "../../src/coordination/local/local-coordinator.js";
import { createFakeClock } from "../support/fake-clock.js";
import { describeCoordinatorContract } from "./coordinator.contract.js";

describeCoordinatorContract("local", async () => {
  const clock = createFakeClock("2026-03-01T00:00:00Z");
  const coordinator = createLocalCoordinator({ nodeId: "node-a", address: "127.0.0.1:0", version: "test", clock });
  await coordinator.start();
  return {
    coordinator,
    elapse: async (ms) => clock.advance(ms),
    dispose: () => coordinator.stop(),
  };
});
