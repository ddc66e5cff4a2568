import type { JobRecord } from "../domain/job.js";
import type { Member } from "../coordination/coordinator.js";
import { scopeOf, type Actor } from "./jobs.js";
import type { AppDeps } from "./deps.js";
import type { RunCommands } from "./runs.js";
import type { NodeLoad } from "../scheduler/overload.js";

/** The cluster as one caller sees it: every replica, and the jobs and runs of its project. */
export interface ClusterView {
  leaderId: string | undefined;
  nodeId: string;
  members: Member[];
  jobsTotal: number;
  running: number;
  /** The jobs due next, earliest first. */
  next: JobRecord[];
  /** The answering node's queue and overload state (absent: not measured, reported as idle). */
  load?: NodeLoad;
}

/** Reads of the cluster's state (GetClusterStatus). */
export type ClusterQueries = ReturnType<typeof createClusterQueries>;

/**
 * Creates the cluster reads over the store, the coordinator, the run reads (runs running on any
 * replica) and this node's load.
 */
export function createClusterQueries(deps: Pick<AppDeps, "store" | "coordinator">, runs: Pick<RunCommands, "countRunning">, load?: () => NodeLoad) {
  const { store, coordinator } = deps;
  return {
    /** The leader and members (shared by every project), and the actor's project's jobs, running runs and next runs. */
    async view(actor: Actor, nextRuns: number): Promise<ClusterView> {
      const scope = scopeOf(actor);
      const [leaderId, members, jobsTotal, running, next] = await Promise.all([
        coordinator.leaderId(),
        coordinator.members(),
        store.countJobs(scope),
        runs.countRunning(actor),
        store.listDueJobs(Number.MAX_SAFE_INTEGER, nextRuns, scope),
      ]);
      return { leaderId, nodeId: coordinator.nodeId, members, jobsTotal, running, next, load: load?.() };
    },
  };
}
