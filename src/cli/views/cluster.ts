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
  ]);
  const members = renderTable(
    ["NODE ID", "ADDRESS", "VERSION", "STARTED", "LEADER"],
    res.members.map((m) => [m.nodeId, m.address || "-", m.version || "-", localTime(m.startedAt), m.isLeader ? "yes" : ""]),
  );
  const next = res.nextRuns.length
    ? renderTable(
        ["NEXT RUN", "JOB ID", "NAME"],
        res.nextRuns.map((n) => [localTime(n.nextRun), n.jobId, n.name]),
      )
    : "none\n";
  return `${head}\nMembers:\n${members}\nNext runs:\n${next}`;
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
