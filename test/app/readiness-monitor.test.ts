import { describe, expect, it } from "vitest";
import { createReadinessMonitor, type Probe } from "../../src/app/readiness-monitor.js";
import type { Readiness } from "../../src/domain/readiness.js";
import { createFakeClock } from "../support/fake-clock.js";
import { flush } from "../support/flush.js";

/** A probe whose answer the test sets: ok, a failure, or never answering. */
function settableProbe(name: string) {
  let mode: "ok" | "fail" | "hang" = "ok";
  let calls = 0;
  const probe: Probe = {
    name,
    ping: () => {
      calls++;
      if (mode === "ok") return Promise.resolve();
      if (mode === "fail") return Promise.reject(new Error("connect ECONNREFUSED"));
      return new Promise<void>(() => undefined);
    },
  };
  return { probe, set: (m: typeof mode) => void (mode = m), calls: () => calls };
}

/** Lets pending promise callbacks run. */
const settle = flush;

describe("readiness monitor", () => {
  const setup = () => {
    const clock = createFakeClock("2026-03-01T00:00:00Z");
    const store = settableProbe("store");
    const etcd = settableProbe("etcd");
    const monitor = createReadinessMonitor({ probes: [store.probe, etcd.probe], clock, intervalMs: 1000, timeoutMs: 2500 });
    const seen: Readiness[] = [];
    monitor.onChange((r) => seen.push(r));
    return { clock, store, etcd, monitor, seen };
  };

  it("is not ready before start, and ready once the first round answered", async () => {
    const { monitor, store, seen } = setup();
    expect(monitor.current()).toMatchObject({ ready: false, phase: "starting" });
    expect(store.calls()).toBe(0);
    await monitor.start();
    expect(store.calls()).toBe(1);
    expect(monitor.current()).toMatchObject({ ready: true, phase: "running" });
    expect(seen.map((r) => r.ready)).toEqual([true]);
  });

  it("probes every interval, and tells listeners only when the answer changes", async () => {
    const { monitor, clock, store, seen } = setup();
    await monitor.start();
    clock.advance(1000);
    await settle();
    expect(store.calls()).toBe(2);
    store.set("fail");
    clock.advance(1000);
    await settle();
    expect(monitor.current()).toMatchObject({ ready: false, reason: "store unreachable: connect ECONNREFUSED" });
    clock.advance(1000);
    await settle();
    store.set("ok");
    clock.advance(1000);
    await settle();
    expect(store.calls()).toBe(5);
    expect(seen.map((r) => r.ready)).toEqual([true, false, true]);
  });

  it("fails a probe that does not answer within its timeout, and starts no round meanwhile", async () => {
    const { monitor, clock, etcd } = setup();
    await monitor.start();
    etcd.set("hang");
    clock.advance(1000);
    await settle();
    clock.advance(2000);
    await settle();
    expect(etcd.calls()).toBe(2);
    expect(monitor.current().ready).toBe(true);
    clock.advance(500);
    await settle();
    expect(monitor.current()).toMatchObject({ ready: false, checks: { etcd: "unreachable: no answer within 2500 ms", store: "ok" } });
  });

  it("is not ready once stopped, and probes no more", async () => {
    const { monitor, clock, store, seen } = setup();
    await monitor.start();
    monitor.stop();
    expect(monitor.current()).toMatchObject({ ready: false, phase: "stopping", reason: "shutting down" });
    clock.advance(10_000);
    await settle();
    expect(store.calls()).toBe(1);
    expect(seen.map((r) => r.phase)).toEqual(["running", "stopping"]);
  });
});
