import type { Etcd3, Watcher } from "etcd3";
import type { BusHandler } from "../coordinator.js";
import { bytes, prefixEnd } from "./etcd-client.js";

/**
 * The cluster bus on etcd. A message is a put of the sender's key for the topic
 * (`bus/<topic>/<node>`, on its session lease, so the keyspace stays one key per sender and
 * topic); subscribers watch the topic's prefix and receive every put in revision order.
 * Subscriptions are advertised as `interest/<topic>/<node>` keys, which every replica watches to
 * know whether a topic has listeners elsewhere. This replica's own interest keys are reconciled,
 * one at a time in order, with what it subscribes to at the moment each write is sent: a quick
 * unsubscribe and subscribe again cannot land as a put overtaken by the older delete; a new
 * subscription is advertised once its watch is open, so a peer that sees the interest and
 * publishes is heard. Every
 * session tick reconciles again whatever the keyspace shows out of step (a write that failed while
 * etcd was away, a key deleted by hand).
 */
export interface EtcdBus {
  publish(topic: string, message: string): Promise<void>;
  subscribe(topic: string, handler: BusHandler): () => void;
  hasPeerSubscribers(topic: string): boolean;
  /** The other replicas subscribed to the topic, as this replica last heard of their interests. */
  peerSubscribers(topic: string): string[];
  /**
   * Resolves once this replica's watch of the topic is open (messages published from then on
   * reach its handlers); rejects when the topic is not subscribed to, or its watch failed.
   */
  listening(topic: string): Promise<void>;
  /** Loads and watches interests; call once the session has a lease. */
  start(): Promise<void>;
  /**
   * Reloads the interests of all replicas (a watch may have missed changes while etcd was away) and
   * rewrites this replica's own keys where they are out of step with its subscriptions.
   */
  refreshInterests(): Promise<void>;
  /** Re-advertises this replica's interests on a new lease. */
  renewed(): Promise<void>;
  stop(): Promise<void>;
}

/** What the bus needs. */
export interface BusContext {
  client: Etcd3;
  prefix: string;
  nodeId: string;
  sessionLease(): string | undefined;
  onError: (err: unknown, step: string) => void;
}

/** Creates the bus. */
export function createEtcdBus(ctx: BusContext): EtcdBus {
  const handlers = new Map<string, Set<BusHandler>>();
  const watchers = new Map<string, Promise<Watcher>>();
  const interest = new Map<string, Set<string>>();
  let interestWatcher: Watcher | undefined;
  const interestPrefix = `${ctx.prefix}interest/`;

  let interestWrites: Promise<void> = Promise.resolve();
  /** Queues a write making this replica's interest key for `topic` match its subscriptions then. */
  const reconcile = (topic: string) => {
    interestWrites = interestWrites.then(() => writeInterest(topic)).catch((err: unknown) => ctx.onError(err, "bus interest"));
    return interestWrites;
  };
  const writeInterest = async (topic: string) => {
    const key = bytes(`${interestPrefix}${topic}/${ctx.nodeId}`);
    if (!handlers.has(topic)) {
      await ctx.client.kv.deleteRange({ key });
      return;
    }
    const lease = ctx.sessionLease();
    if (lease) await ctx.client.kv.put({ key, value: bytes(""), lease });
  };
  const loadInterests = async () => {
    const res = await ctx.client.kv.range({ key: bytes(interestPrefix), range_end: prefixEnd(interestPrefix), keys_only: true });
    interest.clear();
    for (const kv of res.kvs) noteInterest(kv.key, true);
  };
  /** Reloads every replica's interests, then reconciles the own keys the keyspace shows out of step. */
  const refreshInterests = async () => {
    await loadInterests();
    const advertised = new Set([...interest].filter(([, nodes]) => nodes.has(ctx.nodeId)).map(([topic]) => topic));
    const topics = new Set([...handlers.keys(), ...advertised]);
    await Promise.all([...topics].filter((t) => handlers.has(t) !== advertised.has(t)).map(reconcile));
  };
  const noteInterest = (key: Buffer, present: boolean) => {
    const [topic, node] = key.toString("utf8").slice(interestPrefix.length).split("/");
    if (!topic || !node) return;
    const nodes = interest.get(topic) ?? new Set<string>();
    if (present) nodes.add(node);
    else nodes.delete(node);
    interest.set(topic, nodes);
  };
  const open = (topic: string) => {
    const watcher = ctx.client.watch().prefix(`${ctx.prefix}bus/${topic}/`).create();
    watcher.then(
      (w) =>
        w.on("put", (kv) => {
          for (const h of handlers.get(topic) ?? []) h(kv.value.toString("utf8"));
        }),
      (err: unknown) => ctx.onError(err, `bus watch ${topic}`),
    );
    watchers.set(topic, watcher);
    void watcher.then(
      () => reconcile(topic),
      () => reconcile(topic),
    );
  };
  const close = (topic: string) => {
    void watchers.get(topic)?.then((w) => w.cancel());
    watchers.delete(topic);
    void reconcile(topic);
  };
  return {
    async publish(topic, message) {
      const lease = ctx.sessionLease();
      if (!lease) return;
      await ctx.client.kv.put({ key: bytes(`${ctx.prefix}bus/${topic}/${ctx.nodeId}`), value: bytes(message), lease });
    },
    subscribe(topic, handler) {
      const set = handlers.get(topic) ?? new Set<BusHandler>();
      handlers.set(topic, set.add(handler));
      if (set.size === 1) open(topic);
      return () => {
        if (!set.delete(handler) || set.size > 0) return;
        handlers.delete(topic);
        close(topic);
      };
    },
    hasPeerSubscribers: (topic) => [...(interest.get(topic) ?? [])].some((n) => n !== ctx.nodeId),
    peerSubscribers: (topic) => [...(interest.get(topic) ?? [])].filter((n) => n !== ctx.nodeId),
    listening: async (topic) => {
      const watcher = watchers.get(topic);
      if (!watcher) throw new Error(`not subscribed to ${topic}`);
      await watcher;
    },
    async start() {
      interestWatcher = await ctx.client.watch().prefix(interestPrefix).create();
      interestWatcher.on("put", (kv) => noteInterest(kv.key, true)).on("delete", (kv) => noteInterest(kv.key, false));
      interestWatcher.on("connected", () => void loadInterests().catch((err: unknown) => ctx.onError(err, "bus interests")));
      await loadInterests();
    },
    refreshInterests,
    renewed: async () => void (await Promise.all([...handlers.keys()].map(reconcile))),
    async stop() {
      await interestWatcher?.cancel();
      await Promise.all([...watchers.values()].map(async (w) => (await w).cancel()));
      watchers.clear();
    },
  };
}
