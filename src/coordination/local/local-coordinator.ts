import type { Clock } from "../../domain/clock.js";
import { CronError } from "../../domain/cron-error.js";
import type { BusHandler, Coordinator, Lock, LockOptions, Member, MemberLoad } from "../coordinator.js";

/** Identity of the embedded node. */
export interface LocalCoordinatorOptions {
  nodeId: string;
  address: string;
  version: string;
  clock: Clock;
}

interface Held {
  token: number;
  /** Undefined: held until released or until the coordinator stops. */
  expiresAt: number | undefined;
  /** A tombstone: held by nobody, yet not available until it expires. */
  retired?: boolean;
}

/**
 * The embedded coordinator: one process, always the leader once started. Locks live in memory
 * and expire after their TTL like etcd leases, and bus messages are delivered asynchronously, so
 * code written against it behaves the same way under the etcd adapter.
 */
export function createLocalCoordinator(options: LocalCoordinatorOptions): Coordinator {
  const { clock } = options;
  const locks = new Map<string, Held>();
  const listeners = new Set<(leading: boolean) => void>();
  const topics = new Map<string, Set<BusHandler>>();
  let leading = false;
  let startedAt = 0;
  let load: MemberLoad | undefined;
  let nextToken = 1;

  const held = (key: string): Held | undefined => {
    const h = locks.get(key);
    if (h?.expiresAt !== undefined && h.expiresAt <= clock.now()) locks.delete(key);
    return locks.get(key);
  };
  const setLeading = (value: boolean) => {
    if (leading === value) return;
    leading = value;
    for (const l of listeners) l(value);
  };
  const take = (key: string, ttlMs: number | undefined): Lock | undefined => {
    if (held(key)) return undefined;
    const entry = { token: nextToken++, expiresAt: ttlMs === undefined ? undefined : clock.now() + ttlMs };
    locks.set(key, entry);
    return lockHandle(key, entry, locks, clock);
  };
  const tryLocks = async (keys: readonly string[], lockOptions: LockOptions = {}) => {
    if (lockOptions.asLeader && !leading) throw new CronError("unavailable", `${options.nodeId} is not the leader`);
    const out = new Map<string, Lock>();
    for (const key of keys) {
      const lock = take(key, lockOptions.ttlMs);
      if (lock) out.set(key, lock);
    }
    return out;
  };
  return {
    nodeId: options.nodeId,
    start: async () => {
      startedAt = clock.now();
      setLeading(true);
    },
    resign: async () => setLeading(false),
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
    tryLock: async (key, lockOptions) => (await tryLocks([key], lockOptions)).get(key),
    tryLocks,
    releaseLocks: async (held) => void (await Promise.all(held.map((l) => l.release()))),
    retireLocks: async (held, forMs) => {
      for (const l of held) if (l.isHeld()) locks.set(l.key, { token: nextToken++, expiresAt: clock.now() + forMs, retired: true });
    },
    isLocked: async (key) => held(key) !== undefined && !held(key)!.retired,
    lockHolder: async (key) => (held(key) && !held(key)!.retired ? options.nodeId : undefined),
    members: async (): Promise<Member[]> =>
      leading ? [{ nodeId: options.nodeId, address: options.address, version: options.version, startedAt, ...(load ? { load } : {}) }] : [],
    reportLoad: async (reported) => void (load = { ...reported }),
    publish: async (topic, message) => {
      // Delivered on a later turn, as a networked bus would, never inside the publisher's call.
      for (const handler of topics.get(topic) ?? []) setImmediate(() => handler(message));
    },
    subscribe: (topic, handler) => {
      const set = topics.get(topic) ?? new Set<BusHandler>();
      topics.set(topic, set.add(handler));
      return () => {
        set.delete(handler);
        if (set.size === 0) topics.delete(topic);
      };
    },
    // The only replica is this one.
    hasPeerSubscribers: () => false,
  };
}

function lockHandle(key: string, entry: Held, locks: Map<string, Held>, clock: Clock): Lock {
  return {
    key,
    token: entry.token,
    isHeld: () => locks.get(key) === entry && (entry.expiresAt === undefined || entry.expiresAt > clock.now()),
    release: async () => {
      if (locks.get(key) === entry) locks.delete(key);
    },
  };
}
