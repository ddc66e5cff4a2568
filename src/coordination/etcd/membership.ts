import type { Etcd3 } from "etcd3";
import type { Member } from "../coordinator.js";
import { bytes, prefixEnd } from "./etcd-client.js";

/** Registers this replica under `members/<node>` on its session lease and lists the others. */
export interface Membership {
  register(leaseId: string): Promise<void>;
  list(): Promise<Member[]>;
}

/** Creates the membership registry under `prefix` (e.g. `cronmesh/members/`). */
export function createMembership(client: Etcd3, prefix: string, self: Member): Membership {
  return {
    register: async (leaseId) => void (await client.kv.put({ key: bytes(`${prefix}${self.nodeId}`), value: bytes(JSON.stringify(self)), lease: leaseId })),
    async list() {
      const res = await client.kv.range({ key: bytes(prefix), range_end: prefixEnd(prefix) });
      return res.kvs.flatMap((kv) => {
        try {
          return [JSON.parse(kv.value.toString("utf8")) as Member];
        } catch {
          return [];
        }
      });
    },
  };
}
