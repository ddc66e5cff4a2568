import type { Clock } from "../../domain/clock.js";
import { CronError } from "../../domain/cron-error.js";
import { answerLocally } from "../answers.js";
import type { AnswerHandler, BusHandler, Coordinator, Lock, LockOptions, Member, MemberLoad } from "../coordinator.js";

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

/** The embedded coordinator, and how many keys it holds (locks and tombstones not yet expired). */
export type LocalCoordinator = Coordinator & { keyCount(): number };

/**
 * The embedded coordinator: one process, always the leader once started. Locks live in memory
 * and expire after their TTL like etcd leases, and bus messages are delivered asynchronously, so
 * code written against it behaves the same way under the etcd adapter.
 */
export function createLocalCoordinator(options: LocalCoordinatorOptions): LocalCoordinator {
  const { clock } = options;
  const locks = new Map<string, Held>();
  /**
   * Keys with an expiry, in the order they were set: a finished run's claim is a tombstone for a
   * minute and its key is never looked up again, so expired keys are dropped from the front as
   * new ones come (amortised O(1)), not when next read, which for these is never.
   */
  const expiring = createExpiryLine(locks, clock);
  const listeners = new Set<(leading: boolean) => void>();
  const topics = new Map<string, Set<BusHandler>>();
  const answerers = new Map<string, AnswerHandler>();
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
    expiring.add(key, entry);
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
    // Nothing outside this process to reach.
    ping: async () => undefined,
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
      for (const l of held) {
        if (!l.isHeld()) continue;
        const tombstone = { token: nextToken++, expiresAt: clock.now() + forMs, retired: true };
        locks.set(l.key, tombstone);
        expiring.add(l.key, tombstone);
      }
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
    answer: (topic, handler) => {
      answerers.set(topic, handler);
      return () => {
        if (answerers.get(topic) === handler) answerers.delete(topic);
      };
    },
    ask: async (topic, question) => answerLocally(options.nodeId, answerers.get(topic), question),
    keyCount: () => {
      expiring.sweep();
      return locks.size;
    },
  };
}

/**
 * The keys of `locks` that expire, in one line per time-to-live (few: a fire lock's, a tombstone's),
 * so each line is in expiry order; `add` also drops the keys that expired.
 */
function createExpiryLine(locks: Map<string, Held>, clock: Clock) {
  const lines = new Map<number, { items: { key: string; entry: Held }[]; head: number }>();
  const sweep = () => {
    const now = clock.now();
    for (const line of lines.values()) {
      for (; line.head < line.items.length; line.head++) {
        const { key, entry } = line.items[line.head]!;
        if (entry.expiresAt! > now) break;
        if (locks.get(key) === entry) locks.delete(key);
      }
      // Compact once the consumed prefix dominates.
      if (line.head > 1024 && line.head * 2 > line.items.length) {
        line.items = line.items.slice(line.head);
        line.head = 0;
      }
    }
  };
  return {
    add(key: string, entry: Held) {
      if (entry.expiresAt === undefined) return;
      const ttl = entry.expiresAt - clock.now();
      let line = lines.get(ttl);
      if (!line) lines.set(ttl, (line = { items: [], head: 0 }));
      line.items.push({ key, entry });
      sweep();
    },
    sweep,
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
