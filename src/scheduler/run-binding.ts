import type { JobSpec } from "../domain/job.js";
import { decideRestage, needsRestage } from "../domain/restage.js";
import type { RunRecord, RunStatus } from "../domain/run.js";
import type { JobCache } from "./job-cache.js";

/** What a run executes, found at its start: a spec (with the run's fields the job's change moved), or an end. */
export type RunBinding =
  | { kind: "execute"; spec: JobSpec; changes?: Pick<RunRecord, "jobVersion" | "dueAt"> }
  | { kind: "end"; status: Extract<RunStatus, "skipped" | "cancelled">; error: string; result: string }
  | { kind: "gone" };

/**
 * Binds a run to the job it executes, at its start. The common case — the job as this replica
 * cached it is the run's version — costs a map lookup (the cache forgets a job the moment a change
 * is announced, and refuses older offers after it). Otherwise the job is read, and a slot's run
 * whose job changed before its due time is decided again from the job as it is now (see
 * decideRestage); any other run executes the version it names.
 */
export async function bindRun(jobs: JobCache, run: RunRecord): Promise<RunBinding> {
  const known = jobs.knownSpecOf(run);
  if (known) return { kind: "execute", spec: known };
  const job = await jobs.job(run.jobId);
  if (!job) return { kind: "gone" };
  if (needsRestage(run, job)) {
    const decision = decideRestage(run, job);
    if (decision.action === "run") return { kind: "execute", spec: decision.spec, changes: { jobVersion: decision.jobVersion, dueAt: decision.dueAt } };
    if (decision.action === "skip") return { kind: "end", status: "skipped", error: "", result: `skipped: ${decision.reason}` };
    return { kind: "end", status: "cancelled", error: decision.reason, result: "cancelled" };
  }
  const spec = await jobs.specOf(run);
  return spec ? { kind: "execute", spec } : { kind: "gone" };
}
