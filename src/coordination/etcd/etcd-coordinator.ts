import type { Clock } from "../../domain/clock.js";
import { CronError } from "../../domain/cron-error.js";
import type { Coordinator, Member } from "../coordinator.js";
import { createEtcdAsks } from "./asks.js";
import { createEtcdBus } from "./bus.js";
import { createElection } from "./election.js";
import { createEtcdClient } from "./etcd-client.js";
import { grantLease, lockHolder, releaseLocks, retireLocks, tryLocks, type LockContext } from "./locks.js";
import { createMembership } from "./membership.js";
import { createSession } from "./session.js";

/** Identity and settings of a replica in an etcd cluster. */
export interface EtcdCoordinatorOptions {
  nodeId: string;
  address: string;
  version: string;
  endpoints: string[];
  /** Session lease TTL (rounded up to whole seconds, as etcd counts). */
  ttlMs: number;
  /** Key prefix of this cluster, e.g. `cronmesh/`. */
  prefix: string;
  clock: Clock;
  onError: (err: unknown, step: string) => void;
}

/**
 * Safety margin of fencing: a leader stops firing this long before its lease could expire, to
 * cover timer lateness and clock-rate differences. A tenth of the TTL, at least 300 ms.
 */
function fencingMarginMs(ttlMs: number): number {
  return Math.max(300, Math.ceil(ttlMs / 10));
}

/**
 * The etcd coordinator. One session lease per replica carries its election key, its membership,
 * its claims and its bus keys. Fencing does not trust the etcd client's view of the lease: a
 * replica may fire only while it leads and a keepalive sent less than a TTL (minus a margin) ago
 * was acknowledged, and the fire loop's locks are taken in a transaction that fails once its
 * election key is gone. After etcd is lost and regained, the lease is either still alive (etcd
 * extends leases when it elects a new raft leader) and the same replica keeps leading, or it
 * expired and is replaced: the replica campaigns again with a new key, behind whoever leads now.
 */
export function createEtcdCoordinator(options: EtcdCoordinatorOptions): Coordinator {
  const { clock, prefix, nodeId } = options;
  const client = createEtcdClient(options.endpoints);
  const listeners = new Set<(leading: boolean) => void>();
  let leading = false;
  const notify = () => {
    const now = election.leading();
    if (now === leading) return;
    leading = now;
    for (const l of listeners) l(now);
  };
  const session = createSession({ client, ttlMs: options.ttlMs, clock, onError: options.onError });
  const election = createElection(client, `${prefix}election/`, nodeId, notify, options.onError);
  const self: Member = { nodeId, address: options.address, version: options.version, startedAt: clock.now() };
  const membership = createMembership(client, `${prefix}members/`, self);
  const bus = createEtcdBus({ client, prefix, nodeId, sessionLease: session.leaseId, onError: options.onError });
  const asks = createEtcdAsks({ bus, nodeId, clock, onError: options.onError });
  const locks: LockContext = {
    client,
    prefix,
    nodeId,
    sessionLease: session.leaseId,
    electionKey: election.ownKey,
    sessionAlive: (lease) => session.leaseId() === lease,
  };
  const join = async (leaseId: string) => {
    await membership.register(leaseId);
    await bus.renewed();
    await election.campaign(leaseId);
  };
  /** One lease carries the tombstones of a while (reused until less than a tombstone's life is left). */
  let tombstones: { lease: string; expiresAt: number } | undefined;
  const tombstoneLease = async (forMs: number) => {
    if (tombstones && tombstones.expiresAt - clock.now() >= forMs) return tombstones.lease;
    const ttlMs = 2 * forMs;
    tombstones = { lease: await grantLease(client, ttlMs), expiresAt: clock.now() + ttlMs };
    return tombstones.lease;
  };
  session.onLost(() => election.forget());
  session.onRenewed((leaseId) => void join(leaseId).catch((err: unknown) => options.onError(err, "rejoin after a lost lease")));
  session.onTick(() => {
    void election.observe().catch((err: unknown) => options.onError(err, "election observe"));
    void bus.refreshInterests().catch((err: unknown) => options.onError(err, "bus interests"));
  });

  return {
    nodeId,
    async start() {
      self.startedAt = clock.now();
      await session.start();
      await bus.start();
      await join(session.leaseId()!);
    },
    async resign() {
      await election.resign().catch((err: unknown) => options.onError(err, "resign"));
      notify();
    },
    async stop() {
      await election.resign().catch((err: unknown) => options.onError(err, "resign"));
      notify();
      await Promise.all([election.stop(), bus.stop()]);
      await session.stop();
      client.close();
    },
    ping: async () => {
      try {
        // Linearizable (the client's default): a member cut off from its quorum cannot answer it.
        await client.get(`${prefix}ping`).exists();
      } catch (err) {
        throw new CronError("unavailable", `etcd unavailable: ${(err as Error).message}`, undefined, { cause: err });
      }
    },
    canFire: () => leading && clock.now() < session.confirmedUntil() - fencingMarginMs(options.ttlMs),
    leaderId: async () => {
      await election.observe();
      return election.leaderId();
    },
    onLeadershipChange: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    tryLock: async (key, lockOptions) => (await tryLocks(locks, [key], lockOptions)).get(key),
    tryLocks: (keys, lockOptions) => tryLocks(locks, keys, lockOptions),
    releaseLocks: (held) => releaseLocks(locks, held),
    retireLocks: async (held, forMs) => retireLocks(locks, held, await tombstoneLease(forMs)),
    isLocked: async (key) => (await lockHolder(locks, key)) !== undefined,
    lockHolder: (key) => lockHolder(locks, key),
    members: () => membership.list(),
    async reportLoad(load) {
      self.load = load;
      // Without a session the load goes out with the next registration (a rejoin re-registers).
      const lease = session.leaseId();
      if (lease) await membership.register(lease);
    },
    publish: (topic, message) => bus.publish(topic, message),
    subscribe: (topic, handler) => bus.subscribe(topic, handler),
    hasPeerSubscribers: (topic) => bus.hasPeerSubscribers(topic),
    answer: (topic, handler) => asks.answer(topic, handler),
    ask: (topic, question, timeoutMs) => asks.ask(topic, question, timeoutMs),
  };
}
