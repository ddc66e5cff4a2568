import { randomBytes } from "node:crypto";
import { Etcd3 } from "etcd3";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Coordinator } from "../../src/coordination/coordinator.js";
import { waitFor } from "../harness/cluster.js";
import { testEtcdCoordinator } from "./etcd-fixture.js";

// Two replicas on one etcd: what one subscribes to, the other must know, or run changes are never
// relayed to the first one's WatchRuns streams.
describe("etcd bus interests between two replicas", () => {
  const prefix = `bus-${randomBytes(4).toString("hex")}/`;
  let a: Coordinator;
  let b: Coordinator;
  let raw: Etcd3;
  const interestKeys = () => raw.getAll().prefix(`${prefix}interest/`).keys();

  beforeAll(async () => {
    a = testEtcdCoordinator("node-a", prefix, 1500);
    b = testEtcdCoordinator("node-b", prefix, 1500);
    raw = new Etcd3({ hosts: inject("etcdEndpoints") });
    await Promise.all([a.start(), b.start()]);
  }, 30_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    raw?.close();
  });

  it("tells the peer of a subscription, and of its end", async () => {
    const off = a.subscribe("watch", () => undefined);
    await waitFor(() => b.hasPeerSubscribers("watch"), 5000, "node-b to see node-a's interest");
    expect(a.hasPeerSubscribers("watch")).toBe(false);
    off();
    await waitFor(() => !b.hasPeerSubscribers("watch"), 5000, "node-b to see node-a's interest end");
  });

  it("ends advertised after unsubscribing and subscribing again in quick succession, however often", async () => {
    let off = a.subscribe("churn", () => undefined);
    for (let i = 0; i < 30; i++) {
      off();
      off = a.subscribe("churn", () => undefined);
    }
    // Sooner than the 500 ms between session ticks, so most runs check the ordered writes themselves,
    // not a tick's repair (the old concurrent writes failed this in 2 runs of 3).
    await new Promise((r) => setTimeout(r, 300));
    expect(await interestKeys()).toContain(`${prefix}interest/churn/node-a`);
    await waitFor(() => b.hasPeerSubscribers("churn"), 5000, "node-b to see node-a's interest");
    off();
    await waitFor(async () => !(await interestKeys()).includes(`${prefix}interest/churn/node-a`), 5000, "the interest key to go");
  });

  it("advertises again an interest whose key was lost, within a few session ticks", async () => {
    const off = a.subscribe("lost", () => undefined);
    await waitFor(() => b.hasPeerSubscribers("lost"), 5000, "node-b to see node-a's interest");
    await raw.delete().key(`${prefix}interest/lost/node-a`);
    await waitFor(async () => (await interestKeys()).includes(`${prefix}interest/lost/node-a`), 3000, "node-a to advertise its interest again");
    await waitFor(() => b.hasPeerSubscribers("lost"), 3000, "node-b to see it");
    off();
  });
});
