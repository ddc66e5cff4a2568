import { inject } from "vitest";
import type { Coordinator } from "../../src/coordination/coordinator.js";
import { createEtcdCoordinator } from "../../src/coordination/etcd/etcd-coordinator.js";
import { createSystemClock } from "../../src/runtime/system-clock.js";
import "../harness/provided-context.js";

/** An etcd coordinator (not started) on the test etcd, under `prefix`, on the system clock. */
export function testEtcdCoordinator(nodeId: string, prefix: string, ttlMs: number): Coordinator {
  return createEtcdCoordinator({
    nodeId,
    address: "127.0.0.1:0",
    version: "test",
    endpoints: inject("etcdEndpoints"),
    ttlMs,
    prefix,
    clock: createSystemClock(),
    onError: () => undefined,
  });
}
