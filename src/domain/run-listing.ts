import { isFinal, type RunRecord, type RunStatus, type RunTrigger } from "./run.js";

/** Which runs a listing shows; empty fields match every run. */
export interface RunSelection {
  jobId?: string;
  projectId?: string;
  status?: RunStatus;
  trigger?: RunTrigger;
  /** Slot (`scheduledAt`) at or after this time. */
  scheduledFrom?: number;
  /** Slot before this time. */
  scheduledTo?: number;
}

/** One page of a listing, in run-id order (creation order). */
export interface RunPaging {
  oldestFirst?: boolean;
  /** Exclusive upper bound on the run id. */
  before?: string;
  /** Exclusive lower bound on the run id. */
  after?: string;
  /** Runs within the bounds skipped before the page. */
  offset?: number;
  pageSize: number;
}

/** A page of runs with every match counted (bounds and offset aside). */
export interface RunListing {
  items: RunRecord[];
  /** The last run of the page when more follow. */
  nextCursor?: string;
  total: number;
}

/** Whether a run matches a selection. */
export function matchesSelection(run: RunRecord, s: RunSelection): boolean {
  return (
    (!s.jobId || run.jobId === s.jobId) &&
    (!s.projectId || run.projectId === s.projectId) &&
    (!s.status || run.status === s.status) &&
    (!s.trigger || run.trigger === s.trigger) &&
    (s.scheduledFrom === undefined || run.scheduledAt >= s.scheduledFrom) &&
    (s.scheduledTo === undefined || run.scheduledAt < s.scheduledTo)
  );
}

/** The page of `runs` (all the matches, in any order) that `paging` asks for, with their count. */
export function pageOfRuns(runs: RunRecord[], paging: RunPaging): RunListing {
  const sorted = [...runs].sort((a, b) => (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0));
  if (!paging.oldestFirst) sorted.reverse();
  const bounded = sorted.filter((r) => (!paging.before || r.runId < paging.before) && (!paging.after || r.runId > paging.after));
  const start = Math.max(0, paging.offset ?? 0);
  const items = bounded.slice(start, start + paging.pageSize);
  const more = start + paging.pageSize < bounded.length;
  return { items, total: runs.length, ...(more && items.length > 0 ? { nextCursor: items[items.length - 1]!.runId } : {}) };
}

/**
 * A run as it stands: its live state while it executes on some replica (its steps reach the
 * store only at checkpoints), else the stored one. A live state that is final is not stored yet:
 * until it is, the stored state answers, so that no caller acts on a final state the store
 * lacks; a stored final state is the truth whatever a replica still holds.
 */
export function asItStands(stored: RunRecord, live: RunRecord | undefined): RunRecord {
  return live && !isFinal(live.status) && !isFinal(stored.status) ? live : stored;
}

/**
 * The runs executing right now: those live on a replica with status `running`, and those the
 * store has as running that no replica holds in another state (a replica that did not answer
 * still has them running, as far as anyone can tell). `live` holds every live state the replicas
 * reported, whatever its status; the selection applies to both sides.
 */
export function runningNow(stored: RunRecord[], live: RunRecord[], selection: RunSelection): RunRecord[] {
  const wanted = { ...selection, status: "running" as const };
  const byId = new Map(stored.filter((r) => matchesSelection(r, wanted)).map((r) => [r.runId, r]));
  for (const run of live) {
    const current = byId.get(run.runId);
    const state = current ? asItStands(current, run) : isFinal(run.status) ? undefined : run;
    if (state && matchesSelection(state, wanted)) byId.set(run.runId, state);
    else byId.delete(run.runId);
  }
  return [...byId.values()];
}
