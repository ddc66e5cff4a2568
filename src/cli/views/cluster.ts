import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { GetClusterStatusResponse, GetWhoAmIResponse, PreviewScheduleResponse } from "../../../gen/cronmesh/v1/cron_service_pb.js";
import { renderFields, renderTable } from "../table.js";
import { isoTime, localTime } from "../time-format.js";

/** The cluster: who answers and leads, its members, and the next runs due. */
export function clusterStatus(res: GetClusterStatusResponse): string {
  const head = renderFields([
    ["Mode", res.mode],
    ["Node", `${res.nodeId}${res.isLeader ? " (leader)" : ""}`],
    ["Leader", res.leaderId || "none"],
    ["Jobs", `${res.jobsTotal}`],
    ["Running", `${res.running}`],
    ["Load", loadLine(res)],
  ]);
  const members = renderTable(
    ["NODE ID", "ADDRESS", "VERSION", "STARTED", "LEADER", "LOAD"],
    res.members.map((m) => [
      m.nodeId,
      m.address || "-",
      m.version || "-",
      localTime(m.startedAt),
      m.isLeader ? "yes" : "",
      m.overloaded ? "OVERLOADED" : "normal",
    ]),
  );
  const next = res.nextRuns.length
    ? renderTable(
        ["NEXT RUN", "JOB ID", "NAME"],
        res.nextRuns.map((n) => [localTime(n.nextRun), n.jobId, n.name]),
      )
    : "none\n";
  return `${head}\nMembers:\n${members}\nNext runs:\n${next}`;
}

/** The answering node's load: overloaded or normal, its queue against its bound, start rate and runs shed. */
export function loadLine(res: Pick<GetClusterStatusResponse, "overloaded" | "load">): string {
  const state = res.overloaded ? "OVERLOADED (runs past their start deadline are decided by their misfire policy)" : "normal";
  const l = res.load;
  if (!l) return state;
  const oldest = l.oldestQueuedAge ? `, oldest waiting ${(Number(l.oldestQueuedAge.seconds) + l.oldestQueuedAge.nanos / 1e9).toFixed(1)}s` : "";
  return `${state}; queue ${l.queuedRuns}/${l.queueBound}${oldest}, ${Math.round(l.startRate)} runs/s started, ${l.shedTotal} shed`;
}

/** The caller as the server sees it. */
export function whoAmI(res: GetWhoAmIResponse): string {
  return renderFields([
    ["Subject", res.subject],
    ["Project", res.projectId],
    ["Roles", res.roles.join(", ") || "-"],
    ["Auth", res.authMode],
  ]);
}

/** Fire times, in the schedule's zone and in this machine's. */
export function previewTable(res: PreviewScheduleResponse, zone: string): string {
  return renderTable(
    ["#", `TIME (${zone})`, "LOCAL TIME"],
    res.times.map((t, i) => [`${i + 1}`, isoTime(timestampMs(t), zone), localTime(t)]),
  );
}
