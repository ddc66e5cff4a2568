import { CronError } from "../domain/cron-error.js";
import { isFinal, type RunRecord } from "../domain/run.js";
import { asItStands, matchesSelection, pageOfRuns, runningNow, type RunSelection } from "../domain/run-listing.js";
import type { DeadLetterQuery, Page, RunQuery } from "../store/store.js";
import { projectOfQuery } from "../domain/project.js";
import type { AppDeps } from "./deps.js";
import { scopeOf, type Actor } from "./jobs.js";

/**
 * Most runs in one state read at once to merge with the live ones (bounded by the replicas'
 * worker pools: runs running are few).
 */
const MAX_RUNNING_READ = 10_000;

/** Options of a run listing. */
export interface RunListOptions {
  /**
   * The caller reads the job of `jobId` itself, within the actor's project, and fails NotFound
   * without it (GetJob, GetJobStatus): the listing does not read the job again to tell "no runs"
   * from "no such job".
   */
  jobReadByCaller?: boolean;
}

/** Run reads: runs as they stand, the store's states overlaid with the live states of runs executing on any replica. */
export type RunReads = ReturnType<typeof createRunReads>;

/** Creates the run reads. */
export function createRunReads(deps: Pick<AppDeps, "store" | "live">) {
  const { store, live } = deps;

  /** The full live states of these runs, by id (none without live runs wired, or for an empty list). */
  const liveStates = async (runIds: string[]): Promise<Map<string, RunRecord>> => {
    if (!live || runIds.length === 0) return new Map();
    const found = await live.find({ runIds });
    return new Map(found.runs.map((r) => [r.runId, r]));
  };

  /** Runs stored by earlier versions carry no job name: it is read from their jobs (those still there). */
  const named = async <T extends { items: RunRecord[] }>(page: T): Promise<T> => {
    const missing = [...new Set(page.items.filter((r) => r.jobName === undefined).map((r) => r.jobId))];
    if (missing.length === 0) return page;
    const names = new Map((await store.getJobs(missing)).map((j) => [j.jobId, j.spec.name]));
    return { ...page, items: page.items.map((r) => (r.jobName === undefined && names.has(r.jobId) ? { ...r, jobName: names.get(r.jobId) } : r)) };
  };

  /** Stored runs as they stand: those not final overlaid with their live states. */
  const overlaid = async (runs: RunRecord[]): Promise<RunRecord[]> => {
    const states = await liveStates(runs.filter((r) => !isFinal(r.status)).map((r) => r.runId));
    return runs.map((r) => asItStands(r, states.get(r.runId)));
  };

  /**
   * A listing naming a job that does not exist is NotFound, as every other path under the job
   * is; runs of a deleted job that are still kept are listed all the same.
   */
  const knownJob = async <T extends Page<RunRecord>>(page: T, jobId: string | undefined, actor: Actor, options: RunListOptions = {}): Promise<T> => {
    const unknown = jobId && page.items.length === 0 && !options.jobReadByCaller && !(await store.getJob(jobId, scopeOf(actor)));
    if (unknown) throw CronError.notFound("job", jobId);
    return named(page);
  };

  /** Every run executing now that matches the selection (summaries for the live ones: no attempts). */
  const running = async (selection: RunSelection): Promise<{ runs: RunRecord[]; stored: Map<string, RunRecord> }> => {
    const { jobId, projectId } = selection;
    const [stored, found] = await Promise.all([
      store.listRuns({ ...selection, status: "running", pageSize: MAX_RUNNING_READ }),
      live!.find({ jobId, projectId, summary: true }),
    ]);
    return { runs: runningNow(stored.items, found.runs, selection), stored: new Map(stored.items.map((r) => [r.runId, r])) };
  };

  /** A page of the runs executing now, each in full as it stands. */
  const listRunning = async (query: RunQuery): Promise<Page<RunRecord>> => {
    const { runs, stored } = await running(query);
    const page = pageOfRuns(runs, query);
    const ids = page.items.map((r) => r.runId);
    const states = await liveStates(ids);
    const items = await Promise.all(
      page.items.map(async (r) => {
        const base = stored.get(r.runId) ?? (await store.getRun(r.runId));
        return base && asItStands(base, states.get(r.runId));
      }),
    );
    return {
      items: items.filter((r): r is RunRecord => r !== undefined),
      ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
      ...(query.withTotal ? { total: page.total } : {}),
    };
  };

  return {
    /** A run as it stands; NotFound when it does not exist (or belongs to another project than the actor's). */
    async get(runId: string, actor: Actor): Promise<RunRecord> {
      const run = await store.getRun(runId, scopeOf(actor));
      if (!run) throw CronError.notFound("run", runId);
      const state = isFinal(run.status) ? run : asItStands(run, (await liveStates([runId])).get(runId));
      return (await named({ items: [state] })).items[0]!;
    },

    /**
     * Runs as they stand, in the query's order. `running` is exact: the runs executing on any
     * replica now (with live runs wired). Other states come from the store, each run not final
     * overlaid with its live state (a run that moved on since it was stored is left out of a
     * listing by state). The legacy status `dead_lettered` lists the dead-letter queue. A listing
     * of a job that does not exist is NotFound (unless {@link RunListOptions.jobReadByCaller}).
     */
    async list(unscoped: RunQuery, actor: Actor, options: RunListOptions = {}): Promise<Page<RunRecord>> {
      const query = { ...unscoped, projectId: projectOfQuery(actor.project, unscoped.projectId) };
      const { status, ...rest } = query;
      if (status === "dead_lettered") return knownJob(await store.listDeadLetters(rest), query.jobId, actor, options);
      if (status === "running" && live) return knownJob(await listRunning(query), query.jobId, actor, options);
      const page = await store.listRuns(query);
      const items = (await overlaid(page.items)).filter((r) => matchesSelection(r, { status }));
      return knownJob({ ...page, items }, query.jobId, actor, options);
    },

    /** The dead-letter queue of the actor's project, in the query's order. */
    deadLetters: async (query: DeadLetterQuery, actor: Actor): Promise<Page<RunRecord>> =>
      knownJob(await store.listDeadLetters({ ...query, projectId: projectOfQuery(actor.project, query.projectId) }), query.jobId, actor),

    /** How many runs of the actor's project execute now on any replica (the store's count without live runs wired). */
    async countRunning(actor: Actor): Promise<number> {
      const scope = scopeOf(actor);
      if (!live) return store.countRuns("running", scope);
      return (await running({ projectId: scope })).runs.length;
    },
  };
}
