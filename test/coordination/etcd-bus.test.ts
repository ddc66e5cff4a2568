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

// Reads of what replicas hold in memory (runs executing there) ask every replica and wait for all.
describe("etcd asks between two replicas", () => {
  const prefix = `ask-${randomBytes(4).toString("hex")}/`;
  let a: Coordinator;
  let b: Coordinator;

  beforeAll(async () => {
    a = testEtcdCoordinator("node-a", prefix, 2000);
    b = testEtcdCoordinator("node-b", prefix, 2000);
    await Promise.all([a.start(), b.start()]);
  }, 30_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it("gathers the answer of every replica answering the topic, its own included, in one ask", async () => {
    const offA = a.answer("live", (q) => `a:${q}`);
    const offB = b.answer("live", async (q) => `b:${q}`);
    await waitFor(() => a.hasPeerSubscribers("ask.live"), 5000, "node-a to see node-b answering");
    const answers = await a.ask("live", "who", 2000);
    expect(answers).toEqual({
      byNode: new Map([
        ["node-a", "a:who"],
        ["node-b", "b:who"],
      ]),
      complete: true,
    });
    // Concurrent asks from both sides each get their own answers.
    await waitFor(() => b.hasPeerSubscribers("ask.live"), 5000, "node-b to see node-a answering");
    const many = await Promise.all([a.ask("live", "1", 2000), b.ask("live", "2", 2000), a.ask("live", "3", 2000)]);
    expect(many.map((m) => [...m.byNode.values()].sort())).toEqual([
      ["a:1", "b:1"],
      ["a:2", "b:2"],
      ["a:3", "b:3"],
    ]);
    offA();
    offB();
    await waitFor(() => !a.hasPeerSubscribers("ask.live"), 5000, "node-b's interest to end");
    expect(await a.ask("live", "who", 2000)).toEqual({ byNode: new Map(), complete: true });
  });

  it("answers from a replica that only asks, and from one that answers without asking", async () => {
    const off = b.answer("only-b", (q) => `b:${q}`);
    await waitFor(() => a.hasPeerSubscribers("ask.only-b"), 5000, "node-a to see node-b answering");
    expect(await a.ask("only-b", "x", 2000)).toEqual({ byNode: new Map([["node-b", "b:x"]]), complete: true });
    off();
  });

  it("comes back incomplete, after the timeout, when a replica known to answer does not", async () => {
    const off = b.answer("slow", () => new Promise<string>(() => undefined));
    const mine = a.answer("slow", () => "a");
    await waitFor(() => a.hasPeerSubscribers("ask.slow"), 5000, "node-a to see node-b answering");
    const started = Date.now();
    const answers = await a.ask("slow", "x", 300);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(answers).toEqual({ byNode: new Map([["node-a", "a"]]), complete: false });
    off();
    mine();
  });
});
