import type { ClusterMember, NextRun } from "../../../gen/cronmesh/v1/cron_service_pb.js";
import { ErrorBox } from "../components/error-box.js";
import { Time } from "../components/time.js";
import { useConsole } from "../context.js";
import { msOf } from "../lib/format.js";
import { loadSummary } from "../lib/load.js";
import { useAsync } from "../lib/hooks.js";
import { href } from "../router.js";

/** Upcoming slots listed. */
const NEXT_RUNS = 20;

/** The cluster: mode, leader, members and the next slots to fire. */
export function ClusterView() {
  const { api } = useConsole();
  const status = useAsync(() => api.cron.getClusterStatus({ nextRunsLimit: NEXT_RUNS }), [], 3000);
  const s = status.data;
  const load = s && loadSummary(s.load, s.overloaded);
  return (
    <section>
      <div class="page-head">
        <h2>Cluster</h2>
      </div>
      <ErrorBox error={status.error} />
      {s?.overloaded ? (
        <div class="banner warn" role="alert" data-testid="overload-banner">
          Overloaded: runs that cannot start by their start deadline are decided by their job's misfire policy (skipped and counted).
        </div>
      ) : null}
      {s ? (
        <>
          <div class="tiles">
            <Tile label="Mode" value={s.mode} />
            <Tile label="Leader" value={s.leaderId || "none"} mono />
            <Tile label="Answered by" value={`${s.nodeId}${s.isLeader ? " (leader)" : ""}`} mono />
            <Tile label="Jobs" value={String(s.jobsTotal)} />
            <Tile label="Running now" value={String(s.running)} />
            {load ? <Tile label="Load" value={load.state} detail={[load.queue, load.oldest, load.rate, load.shed]} /> : null}
          </div>
          <div class="cards">
            <Members members={s.members} />
            <NextRuns runs={s.nextRuns} />
          </div>
        </>
      ) : null}
    </section>
  );
}

function Members({ members }: { members: ClusterMember[] }) {
  return (
    <div class="card">
      <h3>Members</h3>
      <table class="grid">
        <thead>
          <tr>
            <th>Node</th>
            <th>Address</th>
            <th>Version</th>
            <th>Started</th>
            <th>Load</th>
          </tr>
        </thead>
        <tbody>
          {members.map((m) => (
            <tr key={m.nodeId} data-node={m.nodeId}>
              <td class="mono">
                {m.nodeId} {m.isLeader ? <span class="badge ok">leader</span> : null}
              </td>
              <td class="mono small">{m.address}</td>
              <td class="small">{m.version}</td>
              <td class="small">
                <Time ms={msOf(m.startedAt)} />
              </td>
              <td class="small">{m.overloaded ? <span class="badge warn">overloaded</span> : "normal"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function NextRuns({ runs }: { runs: NextRun[] }) {
  return (
    <div class="card">
      <h3>Next runs</h3>
      <table class="grid">
        <thead>
          <tr>
            <th>When</th>
            <th>Job</th>
          </tr>
        </thead>
        <tbody>
          {runs.length === 0 ? (
            <tr>
              <td colSpan={2} class="empty">
                Nothing scheduled.
              </td>
            </tr>
          ) : null}
          {runs.map((n) => (
            <tr key={`${n.jobId}-${msOf(n.nextRun)}`}>
              <td class="small">
                <Time ms={msOf(n.nextRun)} due />
              </td>
              <td>
                <a href={href.job(n.jobId)}>{n.name}</a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Tile({ label, value, mono, detail }: { label: string; value: string; mono?: boolean; detail?: string[] }) {
  return (
    <div class="tile">
      <div class="tile-label">{label}</div>
      <div class={`tile-value ${mono ? "mono" : ""}`}>{value}</div>
      {detail?.map((d) => (
        <div class="tile-detail small" key={d}>
          {d}
        </div>
      ))}
    </div>
  );
}
