import type { Etcd3, Watcher } from "etcd3";
import { bytes, prefixEnd } from "./etcd-client.js";

/**
 * Leader election on the session lease: every replica puts one key under the election prefix on
 * its lease; the key with the lowest create revision leads. The leader's key disappears when it
 * resigns (deleted) or dies (its lease expires), and the next key leads. Every replica watches the
 * prefix and re-reads the leader on each keepalive round, so a missed watch event cannot leave it
 * believing in a leader that is gone, and no two replicas can see their own key as the lowest.
 */
export interface Election {
  /** Puts this replica's key on the lease (again after a lease was replaced) and watches the prefix. */
  campaign(leaseId: string): Promise<void>;
  /** Re-reads who leads; notifies on a change. */
  observe(): Promise<void>;
  /** True while this replica's key is the lowest. */
  leading(): boolean;
  /** The id of the leading replica's node, if any. */
  leaderId(): string | undefined;
  /** The key this replica campaigns with, and its create revision (to prove leadership in a txn). */
  ownKey(): { key: Buffer; createRevision: string } | undefined;
  /** Deletes this replica's key and stops campaigning. */
  resign(): Promise<void>;
  /** Forgets the key of a lost lease (it is gone with the lease). */
  forget(): void;
  stop(): Promise<void>;
}

/** Creates the election under `prefix` (e.g. `cronmesh/election/`). */
export function createElection(client: Etcd3, prefix: string, nodeId: string, onChange: () => void, onError: (err: unknown, step: string) => void): Election {
  let own: { key: Buffer; createRevision: string } | undefined;
  let leader: { key: string; nodeId: string } | undefined;
  let watcher: Watcher | undefined;
  let resigned = false;

  const observe = async () => {
    const res = await client.kv.range({ key: bytes(prefix), range_end: prefixEnd(prefix), sort_target: "Create", sort_order: "Ascend", limit: 1 });
    const kv = res.kvs[0];
    const before = { leading: isLeading(), leaderId: leader?.nodeId };
    leader = kv ? { key: kv.key.toString("utf8"), nodeId: kv.value.toString("utf8") } : undefined;
    if (before.leading !== isLeading() || before.leaderId !== leader?.nodeId) onChange();
  };
  const isLeading = () => !resigned && own !== undefined && leader?.key === own.key.toString("utf8");
  const watch = async () => {
    if (watcher) return;
    watcher = await client.watch().prefix(prefix).create();
    const refresh = () => void observe().catch((err: unknown) => onError(err, "election observe"));
    watcher.on("put", refresh).on("delete", refresh).on("connected", refresh);
  };
  return {
    async campaign(leaseId) {
      if (resigned) return;
      const key = bytes(`${prefix}${BigInt(leaseId).toString(16)}`);
      const res = await client.kv.txn({
        compare: [{ key, target: "Create", result: "Equal", create_revision: 0 }],
        success: [{ request_put: { key, value: bytes(nodeId), lease: leaseId } }],
        failure: [{ request_range: { key } }],
      });
      const createRevision = res.succeeded ? res.header.revision : res.responses[0]!.response_range.kvs[0]!.create_revision;
      own = { key, createRevision };
      await watch();
      await observe();
    },
    observe,
    leading: isLeading,
    leaderId: () => leader?.nodeId,
    ownKey: () => own,
    async resign() {
      resigned = true;
      const key = own?.key;
      own = undefined;
      if (key) await client.kv.deleteRange({ key });
      onChange();
    },
    forget() {
      own = undefined;
      onChange();
    },
    async stop() {
      await watcher?.cancel();
      watcher = undefined;
    },
  };
}
