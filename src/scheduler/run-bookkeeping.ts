import type { Clock, TimerHandle } from "../domain/clock.js";
import type { JobSpec } from "../domain/job.js";
import type { RunRecord } from "../domain/run.js";
import type { RunOutcome, Store } from "../store/store.js";
import { nextTurn } from "../runtime/next-turn.js";
import { createBatcher } from "../runtime/batcher.js";

/** How often the job counters and history trimming are written. */
export interface BookkeepingOptions {
  /**
   * Finished runs are added to their jobs' counters at most this often (0: in the same event-loop
   * turn). Coalescing turns a run per job per second into one write per flush.
   */
  statsFlushMs: number;
  /** Job histories are trimmed in one batch at most this often. */
  trimIntervalMs: number;
  /**
   * What a history trim waits for before each chunk of jobs: this node's sends being done and no
   * held slot due soon (see `RunWorker.betweenSlots`). A trim of 10,000 jobs at the default
   * history limit is a good part of a second of SQLite work; in chunks that wait for this, it
   * never holds up a slot's requests.
   */
  betweenSlots?: () => Promise<void>;
}

/** Jobs one trim call covers: milliseconds of embedded-store work, short enough to fit between two slots. */
export const TRIM_CHUNK = 250;

/** The job-side bookkeeping of finished runs: counters and history trimming, both batched. */
export interface RunBookkeeping {
  /** Records a run that reached a final state. */
  finished(run: RunRecord, spec: JobSpec): void;
  /** Records a run shed without executing (its start deadline passed): the job's skipped counter. */
  shed(run: RunRecord, spec: JobSpec): void;
  /** Writes whatever is pending (shutdown). */
  flush(): Promise<void>;
}

/** Creates the bookkeeping; write failures are reported to `onError` and retried with the next flush. */
export function createRunBookkeeping(store: Store, clock: Clock, options: BookkeepingOptions, onError: (err: unknown, step: string) => void): RunBookkeeping {
  const counters = createPeriodic(clock, options.statsFlushMs, (outcomes: RunOutcome[]) => store.recordRunOutcomes(outcomes), onError, "run counters");
  const trims = new Map<string, number>();
  let trimTimer: TimerHandle | undefined;
  const trim = async () => {
    trimTimer = undefined;
    const limits = [...trims].map(([jobId, keep]) => ({ jobId, keep }));
    trims.clear();
    for (let i = 0; i < limits.length; i += TRIM_CHUNK) {
      if (i > 0) await nextTurn();
      await options.betweenSlots?.();
      await store.trimRuns(limits.slice(i, i + TRIM_CHUNK)).catch((err: unknown) => onError(err, "history trim"));
    }
  };
  const trimLater = (jobId: string, keep: number) => {
    trims.set(jobId, keep);
    trimTimer ??= clock.setTimer(options.trimIntervalMs, () => void trim());
  };
  return {
    finished(run, spec) {
      counters.add({ jobId: run.jobId, durationMs: run.durationMs ?? 0, failed: run.status === "failed", status: run.status });
      trimLater(run.jobId, spec.historyLimit);
    },
    shed(run, spec) {
      counters.add({ jobId: run.jobId, durationMs: 0, failed: false, skipped: true });
      trimLater(run.jobId, spec.historyLimit);
    },
    async flush() {
      trimTimer?.cancel();
      await Promise.all([counters.flush(), trim()]);
    },
  };
}

/** Collects items and writes them in one call per interval (per event-loop turn when 0). */
function createPeriodic<T>(
  clock: Clock,
  intervalMs: number,
  write: (items: T[]) => Promise<void>,
  onError: (err: unknown, step: string) => void,
  step: string,
) {
  let pending: T[] = [];
  let timer: TimerHandle | undefined;
  const flush = async () => {
    timer?.cancel();
    timer = undefined;
    const items = pending;
    pending = [];
    if (items.length === 0) return;
    // A failed write keeps its items for the next flush: counters are never dropped while the process lives.
    await write(items).catch((err: unknown) => {
      pending = [...items, ...pending];
      onError(err, step);
    });
  };
  const perTurn = createBatcher(async (items: T[]) => {
    pending.push(...items);
    await flush();
    return items.map(() => undefined);
  });
  return {
    add(item: T) {
      if (intervalMs <= 0) {
        void perTurn(item);
        return;
      }
      pending.push(item);
      timer ??= clock.setTimer(intervalMs, () => void flush());
    },
    flush,
  };
}
