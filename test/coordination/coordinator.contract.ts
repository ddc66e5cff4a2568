import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Coordinator } from "../../src/coordination/coordinator.js";

/** What a contract run needs: a started coordinator, a way to let time pass, and clean-up. */
export interface CoordinatorHarness {
  coordinator: Coordinator;
  /** Lets `ms` of lock/lease time elapse (a fake clock, or a real wait for networked adapters). */
  elapse(ms: number): Promise<void>;
  dispose(): Promise<void>;
}

/** The behavioural contract of the {@link Coordinator} port, run unchanged against every adapter. */
export function describeCoordinatorContract(adapter: string, open: () => Promise<CoordinatorHarness>): void {
  describe(`Coordinator contract: ${adapter}`, () => {
    let h: CoordinatorHarness;
    beforeAll(async () => {
      h = await open();
    });
    afterAll(async () => {
      await h?.dispose();
    });

    it("leads once started and may fire", async () => {
      expect(await h.coordinator.leaderId()).toBe(h.coordinator.nodeId);
      expect(h.coordinator.canFire()).toBe(true);
      expect((await h.coordinator.members()).map((m) => m.nodeId)).toContain(h.coordinator.nodeId);
    });

    it("grants a lock to one holder at a time, as a try-lock", async () => {
      const a = await h.coordinator.tryLock("job/a", 5000);
      expect(a).toBeDefined();
      expect(await h.coordinator.tryLock("job/a", 5000)).toBeUndefined();
      expect(await h.coordinator.isLocked("job/a")).toBe(true);
      await a!.release();
      expect(await h.coordinator.isLocked("job/a")).toBe(false);
      const again = await h.coordinator.tryLock("job/a", 5000);
      expect(again!.token).toBeGreaterThan(a!.token);
      await again!.release();
    });

    it("keeps locks of different keys apart", async () => {
      const a = await h.coordinator.tryLock("job/x", 5000);
      const b = await h.coordinator.tryLock("job/y", 5000);
      expect(a && b).toBeDefined();
      await Promise.all([a!.release(), b!.release()]);
    });

    it("lets exactly one of many racing callers take a lock", async () => {
      const locks = await Promise.all(Array.from({ length: 10 }, () => h.coordinator.tryLock("job/race", 5000)));
      expect(locks.filter(Boolean)).toHaveLength(1);
      await locks.find(Boolean)!.release();
    });

    it("frees a lock whose holder never released it after its TTL", async () => {
      await h.coordinator.tryLock("job/ttl", 2000);
      await h.elapse(2500);
      const next = await h.coordinator.tryLock("job/ttl", 2000);
      expect(next).toBeDefined();
      await next!.release();
    });

    it("tells listeners when leadership ends", async () => {
      const seen: boolean[] = [];
      const off = h.coordinator.onLeadershipChange((leading) => seen.push(leading));
      await h.coordinator.stop();
      expect(seen).toEqual([false]);
      expect(h.coordinator.canFire()).toBe(false);
      off();
    });
  });
}
