import { CronError } from "../domain/cron-error.js";
import { isFinal, type RunRecord } from "../domain/run.js";
import type { AppDeps } from "./deps.js";

/** How often a wait looks for final states another replica may have written. */
const POLL_MS = 50;

/**
 * Resolves with the runs once every one is final, or as they stand when `timeoutMs` is over (or
 * `signal` aborts: the caller went away). A final state may be written by another replica, so the
 * store is polled besides this replica's events. A run that no longer exists is left out.
 */
export async function waitFinal(
  deps: Pick<AppDeps, "store" | "clock" | "events">,
  runIds: string[],
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<RunRecord[]> {
  const deadline = deps.clock.now() + timeoutMs;
  const latest = new Map<string, RunRecord>();
  const wanted = new Set(runIds);
  const off = deps.events.subscribe({}, (r) => {
    if (wanted.has(r.runId) && isFinal(r.status)) latest.set(r.runId, r);
  });
  try {
    for (;;) {
      const open = runIds.filter((id) => !isFinal(latest.get(id)?.status ?? "queued"));
      const read = await Promise.all(open.map((id) => deps.store.getRun(id)));
      for (const run of read) if (run && !isFinal(latest.get(run.runId)?.status ?? "queued")) latest.set(run.runId, run);
      const done = runIds.every((id) => !latest.has(id) || isFinal(latest.get(id)!.status));
      if (done || deps.clock.now() >= deadline || signal?.aborted) return runIds.flatMap((id) => latest.get(id) ?? []);
      await new Promise<void>((resolve) => deps.clock.setTimer(POLL_MS, resolve));
    }
  } finally {
    off();
  }
}

/** One run once final, or as it is stored after `timeoutMs` (or once `signal` aborts); NotFound when it does not exist. */
export async function waitRunFinal(
  deps: Pick<AppDeps, "store" | "clock" | "events">,
  runId: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<RunRecord> {
  const [run] = await waitFinal(deps, [runId], timeoutMs, signal);
  if (!run) throw CronError.notFound("run", runId);
  return run;
}
