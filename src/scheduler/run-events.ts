import type { RunRecord } from "../domain/run.js";

/** A subscriber's filter: empty fields match every run. */
export interface RunFilter {
  jobId?: string;
  projectId?: string;
}

/** In-process fan-out of run state changes, feeding WatchRuns. */
export interface RunEvents {
  publish(run: RunRecord): void;
  /**
   * True when a publish can reach someone (a watcher here, or one on another replica). A run
   * nobody watches need not build each intermediate state just to publish it.
   */
  watched(): boolean;
  /** Subscribes; the returned function unsubscribes. */
  subscribe(filter: RunFilter, listener: (run: RunRecord) => void): () => void;
}

/** Creates the run event bus. Listeners are called synchronously and must not throw. */
export function createRunEvents(): RunEvents {
  const listeners = new Set<{ filter: RunFilter; listener: (run: RunRecord) => void }>();
  return {
    publish(run) {
      for (const { filter, listener } of listeners) {
        if (filter.jobId && filter.jobId !== run.jobId) continue;
        if (filter.projectId && filter.projectId !== run.projectId) continue;
        listener(run);
      }
    },
    watched: () => listeners.size > 0,
    subscribe(filter, listener) {
      const entry = { filter, listener };
      listeners.add(entry);
      return () => listeners.delete(entry);
    },
  };
}
