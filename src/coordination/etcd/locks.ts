import type { Etcd3, ICompare, IRequestOp } from "etcd3";
import { CronError } from "../../domain/cron-error.js";
import type { Lock, LockOptions } from "../coordinator.js";
import { bytes } from "./etcd-client.js";

/**
 * Operations per transaction: etcd refuses more than `--max-txn-ops` (128 by default) and counts
 * the operations of nested transactions too, so batches are cut well below.
 */
const CHUNK = 50;

/** Where locks get the lease they hang on and the proof of leadership they may require. */
export interface LockContext {
  client: Etcd3;
  prefix: string;
  nodeId: string;
  /** The session lease (locks held for the replica's lifetime). */
  sessionLease(): string | undefined;
  /** This replica's election key and its create revision, while it campaigns. */
  electionKey(): { key: Buffer; createRevision: string } | undefined;
  /** True while this replica's lease is the one its session locks were taken on. */
  sessionAlive(lease: string): boolean;
}

/**
 * Try-locks on etcd: one transaction per chunk of keys, each key a nested "create if absent"
 * transaction, so a batch of jobs costs one round trip and each key is decided atomically. With
 * `asLeader`, the outer transaction also requires this replica's election key to exist: a replica
 * whose leadership ended (its lease expired while it was frozen or cut off) takes nothing.
 */
export async function tryLocks(ctx: LockContext, keys: readonly string[], options: LockOptions = {}): Promise<Map<string, Lock>> {
  const lease = options.ttlMs === undefined ? ctx.sessionLease() : await grantLease(ctx.client, options.ttlMs);
  if (!lease) throw new CronError("unavailable", "no etcd session (etcd unreachable)");
  const fence = options.asLeader ? leaderFence(ctx) : [];
  const out = new Map<string, Lock>();
  try {
    for (let i = 0; i < keys.length; i += CHUNK) {
      const chunk = keys.slice(i, i + CHUNK);
      const res = await ctx.client.kv.txn({ compare: fence, success: chunk.map((k) => createIfAbsent(ctx, k, lease)), failure: [] });
      if (!res.succeeded) throw new CronError("unavailable", `${ctx.nodeId} is no longer the leader`);
      const token = Number(res.header.revision);
      chunk.forEach((key, j) => {
        if (res.responses[j]?.response_txn.succeeded) out.set(key, lockOf(ctx, key, token, options.ttlMs === undefined ? lease : undefined));
      });
    }
  } catch (err) {
    // The caller gets no lock: the chunks taken before the failure are given back, not left held.
    await releaseLocks(ctx, [...out.values()]).catch(() => undefined);
    throw err;
  }
  return out;
}

/** Releases locks in chunked transactions; a lock already gone or re-taken is left alone. */
export async function releaseLocks(ctx: LockContext, locks: readonly Lock[]): Promise<void> {
  for (let i = 0; i < locks.length; i += CHUNK) {
    const ops = locks.slice(i, i + CHUNK).map((l) => deleteIfOwned(ctx, l.key, l.token));
    await ctx.client.kv.txn({ compare: [], success: ops, failure: [] });
  }
}

/** Tombstones for retired locks: the key stays, worth nothing, on a lease that expires it. */
export async function retireLocks(ctx: LockContext, locks: readonly Lock[], lease: string): Promise<void> {
  for (let i = 0; i < locks.length; i += CHUNK) {
    const ops = locks.slice(i, i + CHUNK).map((l) => retireIfOwned(ctx, l.key, l.token, lease));
    await ctx.client.kv.txn({ compare: [], success: ops, failure: [] });
  }
}

/** The node id holding a lock, if any. */
export async function lockHolder(ctx: LockContext, key: string): Promise<string | undefined> {
  const res = await ctx.client.kv.range({ key: lockKey(ctx, key) });
  const holder = res.kvs[0]?.value.toString("utf8");
  return holder === RETIRED ? undefined : holder;
}

function lockKey(ctx: LockContext, key: string): Buffer {
  return bytes(`${ctx.prefix}locks/${key}`);
}

function leaderFence(ctx: LockContext): ICompare[] {
  const own = ctx.electionKey();
  if (!own) throw new CronError("unavailable", `${ctx.nodeId} is not campaigning`);
  return [{ key: own.key, target: "Create", result: "Equal", create_revision: own.createRevision }];
}

function createIfAbsent(ctx: LockContext, key: string, lease: string): IRequestOp {
  const k = lockKey(ctx, key);
  return {
    request_txn: {
      compare: [{ key: k, target: "Create", result: "Equal", create_revision: 0 }],
      success: [{ request_put: { key: k, value: bytes(ctx.nodeId), lease } }],
      failure: [],
    },
  };
}

function deleteIfOwned(ctx: LockContext, key: string, token: number): IRequestOp {
  const k = lockKey(ctx, key);
  return {
    request_txn: { compare: [{ key: k, target: "Mod", result: "Equal", mod_revision: token }], success: [{ request_delete_range: { key: k } }], failure: [] },
  };
}

function retireIfOwned(ctx: LockContext, key: string, token: number, lease: string): IRequestOp {
  const k = lockKey(ctx, key);
  const tombstone = { request_put: { key: k, value: bytes(RETIRED), lease } };
  return { request_txn: { compare: [{ key: k, target: "Mod", result: "Equal", mod_revision: token }], success: [tombstone], failure: [] } };
}

/** The value of a retired lock's key: held by nobody. */
export const RETIRED = "";

/** A lease of its own for locks with a TTL: they free themselves when it expires. */
export async function grantLease(client: Etcd3, ttlMs: number): Promise<string> {
  return (await client.leaseClient.leaseGrant({ TTL: Math.max(1, Math.ceil(ttlMs / 1000)) })).ID;
}

function lockOf(ctx: LockContext, key: string, token: number, sessionLease: string | undefined): Lock {
  let released = false;
  return {
    key,
    token,
    isHeld: () => !released && (sessionLease === undefined || ctx.sessionAlive(sessionLease)),
    release: async () => {
      if (released) return;
      released = true;
      await releaseLocks(ctx, [{ key, token, isHeld: () => false, release: async () => undefined }]);
    },
  };
}
