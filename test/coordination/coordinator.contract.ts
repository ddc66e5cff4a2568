import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Coordinator } from "../../src/coordination/coordinator.js";
import { CronError } from "../../src/domain/cron-error.js";

/** What a contract run needs: a started coordinator, a way to let time pass, and clean-up. */
export interface CoordinatorHarness {
  coordinator: Coordinator;
  /** Lets `ms` of lock/lease time elapse (a fake clock, or a real wait for networked adapters). */
  elapse(ms: number): Promise<void>;
  dispose(): Promise<void>;
}

/** Resolves with the first message of a topic, or rejects after `ms`. */
function nextMessage(coordinator: Coordinator, topic: string, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no message on ${topic} within ${ms} ms`));
    }, ms);
    const off = coordinator.subscribe(topic, (message) => {
      clearTimeout(timer);
      off();
      resolve(message);
    });
  });
}

/** The behavioural contract of the {@link Coordinator} port, run unchanged against every adapter. */
export function describeCoordinatorContract(adapter: string, open: () => Promise<CoordinatorHarness>): void {
  describe(`Coordinator contract: ${adapter}`, () => {
    let h: CoordinatorHarness;
    let c: Coordinator;
    beforeAll(async () => {
      h = await open();
      c = h.coordinator;
    }, 60_000);
    afterAll(async () => {
      await h?.dispose();
    });

    it("leads once started, may fire, and lists itself as a member", async () => {
      expect(await c.leaderId()).toBe(c.nodeId);
      expect(c.canFire()).toBe(true);
      expect((await c.members()).map((m) => m.nodeId)).toContain(c.nodeId);
    });

    it("lists the load a replica reported with its membership, the latest report winning", async () => {
      await c.reportLoad({ overloaded: true, queuedRuns: 1200 });
      expect((await c.members()).find((m) => m.nodeId === c.nodeId)?.load).toEqual({ overloaded: true, queuedRuns: 1200 });
      await c.reportLoad({ overloaded: false, queuedRuns: 3 });
      const self = (await c.members()).find((m) => m.nodeId === c.nodeId);
      expect(self?.load).toEqual({ overloaded: false, queuedRuns: 3 });
      expect(self?.address).toBeTruthy();
    });

    it("answers a ping while its backend is up", async () => {
      await expect(c.ping()).resolves.toBeUndefined();
    });

    it("grants a lock to one holder at a time, as a try-lock", async () => {
      const a = await c.tryLock("job/a", { ttlMs: 5000 });
      expect(a).toBeDefined();
      expect(a!.isHeld()).toBe(true);
      expect(await c.tryLock("job/a", { ttlMs: 5000 })).toBeUndefined();
      expect(await c.isLocked("job/a")).toBe(true);
      expect(await c.lockHolder("job/a")).toBe(c.nodeId);
      await a!.release();
      expect(a!.isHeld()).toBe(false);
      expect(await c.isLocked("job/a")).toBe(false);
      expect(await c.lockHolder("job/a")).toBeUndefined();
      const again = await c.tryLock("job/a", { ttlMs: 5000 });
      expect(again!.token).toBeGreaterThan(a!.token);
      await again!.release();
    });

    it("keeps locks of different keys apart", async () => {
      const a = await c.tryLock("job/x", { ttlMs: 5000 });
      const b = await c.tryLock("job/y", { ttlMs: 5000 });
      expect(a && b).toBeDefined();
      await c.releaseLocks([a!, b!]);
      expect(await c.isLocked("job/x")).toBe(false);
    });

    it("lets exactly one of many racing callers take a lock", async () => {
      const locks = await Promise.all(Array.from({ length: 10 }, () => c.tryLock("job/race", { ttlMs: 5000 })));
      expect(locks.filter(Boolean)).toHaveLength(1);
      await locks.find(Boolean)!.release();
    });

    it("takes many locks in one call, leaving out the keys held elsewhere", async () => {
      const held = await c.tryLock("batch/3", { ttlMs: 5000 });
      const keys = Array.from({ length: 130 }, (_, i) => `batch/${i}`);
      const locks = await c.tryLocks(keys, { ttlMs: 5000 });
      expect(locks.size).toBe(129);
      expect(locks.has("batch/3")).toBe(false);
      await c.releaseLocks([...locks.values(), held!]);
      expect(await c.isLocked("batch/129")).toBe(false);
    });

    it("takes locks as the leader only while leading", async () => {
      const locks = await c.tryLocks(["lead/a", "lead/b"], { ttlMs: 5000, asLeader: true });
      expect([...locks.keys()].sort()).toEqual(["lead/a", "lead/b"]);
      await c.releaseLocks([...locks.values()]);
    });

    it("frees a lock whose holder never released it after its TTL", async () => {
      await c.tryLock("job/ttl", { ttlMs: 2000 });
      await h.elapse(3200);
      const next = await c.tryLock("job/ttl", { ttlMs: 2000 });
      expect(next).toBeDefined();
      await next!.release();
    });

    it("keeps a lock without TTL for as long as the holder lives", async () => {
      const claim = await c.tryLock("claim/run/1");
      await h.elapse(3200);
      expect(claim!.isHeld()).toBe(true);
      expect(await c.tryLock("claim/run/1")).toBeUndefined();
      await claim!.release();
    });

    it("retires locks: held by nobody, yet not available again until the tombstone expires", async () => {
      const lock = await c.tryLock("claim/run/done");
      await c.retireLocks([lock!], 1000);
      expect(await c.lockHolder("claim/run/done")).toBeUndefined();
      expect(await c.isLocked("claim/run/done")).toBe(false);
      expect(await c.tryLock("claim/run/done")).toBeUndefined();
      await h.elapse(3200);
      const again = await c.tryLock("claim/run/done");
      expect(again).toBeDefined();
      await again!.release();
    });

    it("delivers a published message to the subscribers of its topic", async () => {
      const received = nextMessage(c, "contract", 5000);
      await new Promise((r) => setTimeout(r, 200));
      await c.publish("contract", "hello");
      expect(await received).toBe("hello");
      expect(c.hasPeerSubscribers("contract")).toBe(false);
    });

    it("answers its own questions: each topic's handler, sync or async; nothing from a topic nobody answers", async () => {
      expect(await c.ask("contract-nobody", "q", 1000)).toEqual({ byNode: new Map(), complete: true });
      const stopSync = c.answer("contract-sync", (q) => `sync:${q}`);
      const stopAsync = c.answer("contract-async", async (q) => {
        await new Promise((r) => setTimeout(r, 20));
        return `async:${q}`;
      });
      expect(await c.ask("contract-sync", "a", 1000)).toEqual({ byNode: new Map([[c.nodeId, "sync:a"]]), complete: true });
      expect(await c.ask("contract-async", "b", 1000)).toEqual({ byNode: new Map([[c.nodeId, "async:b"]]), complete: true });
      stopSync();
      expect(await c.ask("contract-sync", "a", 1000)).toEqual({ byNode: new Map(), complete: true });
      stopAsync();
    });

    it("gives no answer, and says the answers are incomplete, when its handler fails", async () => {
      const stop = c.answer("contract-fails", () => {
        throw new Error("no");
      });
      expect(await c.ask("contract-fails", "q", 1000)).toEqual({ byNode: new Map(), complete: false });
      stop();
    });

    it("answers a topic with the handler registered last", async () => {
      const first = c.answer("contract-twice", () => "first");
      const second = c.answer("contract-twice", () => "second");
      expect((await c.ask("contract-twice", "q", 1000)).byNode.get(c.nodeId)).toBe("second");
      first();
      expect((await c.ask("contract-twice", "q", 1000)).byNode.get(c.nodeId)).toBe("second");
      second();
    });

    it("resigns: no longer leads nor takes locks as the leader, and tells listeners", async () => {
      const seen: boolean[] = [];
      const off = c.onLeadershipChange((leading) => seen.push(leading));
      await c.resign();
      expect(seen).toEqual([false]);
      expect(c.canFire()).toBe(false);
      const refused = await c.tryLocks(["lead/c"], { ttlMs: 5000, asLeader: true }).catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(CronError);
      expect((refused as CronError).code).toBe("unavailable");
      off();
    });
  });
}
