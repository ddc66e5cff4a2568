import type { Clock } from "../../domain/clock.js";
import type { Coordinator, Lock, Member } from "../coordinator.js";

/** Identity of the embedded node. */
export interface LocalCoordinatorOptions {
  nodeId: string;
  address: string;
  version: string;
  clock: Clock;
}

interface Held {
  token: number;
  expiresAt: number;
}

/**
 * The embedded coordinator: one process, always the leader once started. Locks live in memory
 * and expire after their TTL like etcd leases, so code written against it behaves the same way
 * under the etcd adapter.
 */
export function createLocalCoordinator(options: LocalCoordinatorOptions): Coordinator {
  const { clock } = options;
  const locks = new Map<string, Held>();
  const listeners = new Set<(leading: boolean) => void>();
  let leading = false;
  let startedAt = 0;
  let nextToken = 1;

  const held = (key: string): Held | undefined => {
    const h = locks.get(key);
    if (h && h.expiresAt <= clock.now()) locks.delete(key);
    return locks.get(key);
  };
  const setLeading = (value: boolean) => {
    if (leading === value) return;
    leading = value;
    for (const l of listeners) l(value);
  };
  return {
    nodeId: options.nodeId,
    start: async () => {
      startedAt = clock.now();
      setLeading(true);
    },
    stop: async () => {
      locks.clear();
      setLeading(false);
    },
    canFire: () => leading,
    leaderId: async () => (leading ? options.nodeId : undefined),
    onLeadershipChange: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    tryLock: async (key, ttlMs) => {
      if (held(key)) return undefined;
      const entry = { token: nextToken++, expiresAt: clock.now() + ttlMs };
      locks.set(key, entry);
      return lockHandle(key, entry, locks);
    },
    isLocked: async (key) => held(key) !== undefined,
    members: async (): Promise<Member[]> =>
      leading ? [{ nodeId: options.nodeId, address: options.address, version: options.version, startedAt }] : [],
  };
}

function lockHandle(key: string, entry: Held, locks: Map<string, Held>): Lock {
  return {
    key,
    token: entry.token,
    release: async () => {
      if (locks.get(key) === entry) locks.delete(key);
    },
  };
}
