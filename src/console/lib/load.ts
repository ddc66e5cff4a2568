import type { NodeLoad } from "../../../gen/cronmesh/v1/cron_service_pb.js";

/** How the console words a node's load: a state, and the figures behind it. */
export interface LoadSummary {
  state: "overloaded" | "normal";
  /** e.g. "1,200 of 5,000 queued". */
  queue: string;
  /** e.g. "oldest waiting 1.4 s" or "none waiting". */
  oldest: string;
  /** e.g. "7,800 runs/s" or "not measured yet". */
  rate: string;
  /** e.g. "12,345 shed since start". */
  shed: string;
}

const count = (n: number | bigint) => Number(n).toLocaleString("en-US");

/** The console's words for a node's load (absent: an older server that does not report one). */
export function loadSummary(load: NodeLoad | undefined, overloaded: boolean): LoadSummary | undefined {
  if (!load) return undefined;
  const oldestMs = load.oldestQueuedAge ? Number(load.oldestQueuedAge.seconds) * 1000 + load.oldestQueuedAge.nanos / 1e6 : undefined;
  return {
    state: overloaded || load.overloaded ? "overloaded" : "normal",
    queue: `${count(load.queuedRuns)} of ${count(load.queueBound)} queued`,
    oldest: oldestMs === undefined ? "none waiting" : `oldest waiting ${(oldestMs / 1000).toFixed(1)} s`,
    rate: load.startRate > 0 ? `${count(Math.round(load.startRate))} runs/s` : "not measured yet",
    shed: `${count(load.shedTotal)} shed since start`,
  };
}
