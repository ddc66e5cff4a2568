import type { RunRecord, RunStatus } from "../domain/run.js";
import type { Store } from "../store/store.js";
import type { RunWorker } from "./run-worker.js";

/** Page size of the recovery scan. */
const PAGE = 500;

/**
 * Hands the worker every run left queued, and every run left running by a process that died
 * (execution is at-least-once; the run id is the target's idempotency key). Oldest first, so
 * the slots of one job keep their order.
 */
export async function recoverRuns(store: Store, worker: RunWorker, exclusive: (run: RunRecord) => Promise<boolean>): Promise<number> {
  const runs = [...(await collect(store, "running")), ...(await collect(store, "queued"))];
  runs.sort((a, b) => (a.runId < b.runId ? -1 : 1));
  for (const run of runs) worker.submit(run, await exclusive(run));
  return runs.length;
}

async function collect(store: Store, status: RunStatus): Promise<RunRecord[]> {
  const out: RunRecord[] = [];
  let before: string | undefined;
  do {
    const page = await store.listRuns({ status, pageSize: PAGE, before });
    out.push(...page.items);
    before = page.nextCursor;
  } while (before);
  return out;
}
