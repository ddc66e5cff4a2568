import { describe, expect, it } from "vitest";
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

describe("local coordinator memory", () => {
  it("forgets the tombstones of finished runs once they expire, though nobody looks them up again", async () => {
    const clock = createFakeClock("2026-03-01T00:00:00Z");
    const coordinator = createLocalCoordinator({ nodeId: "node-a", address: "127.0.0.1:0", version: "test", clock });
    await coordinator.start();
    for (let second = 0; second < 120; second++) {
      // A second of claims, each retired as its run finishes, and of fire locks (3 s) released.
      const claims = await coordinator.tryLocks(Array.from({ length: 100 }, (_, i) => `claim/run/${second}-${i}`));
      await coordinator.retireLocks([...claims.values()], 60_000);
      const fires = await coordinator.tryLocks(
        Array.from({ length: 100 }, (_, i) => `job/${i}`),
        { ttlMs: 3000 },
      );
      await coordinator.releaseLocks([...fires.values()]);
      clock.advance(1000);
    }
    // Only the last minute's tombstones are left.
    expect(coordinator.keyCount()).toBeLessThanOrEqual(6100);
    expect(coordinator.keyCount()).toBeGreaterThanOrEqual(5900);
    clock.advance(61_000);
    expect(coordinator.keyCount()).toBe(0);
    await coordinator.stop();
  });
});
