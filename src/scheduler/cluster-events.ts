import type { Coordinator } from "../coordination/coordinator.js";
import type { Clock, TimerHandle } from "../domain/clock.js";
import type { RunRecord } from "../domain/run.js";
import type { RunEvents } from "./run-events.js";

/** The bus topic telling every replica that a job was created, changed or deleted. */
export const JOB_CHANGED_TOPIC = "job-changed";
/** The bus topic carrying run state changes to replicas that have watchers. */
export const RUN_EVENTS_TOPIC = "run-events";
/** Run changes are sent to other replicas in batches this often: one message per 50 ms, not one per change. */
const RUN_EVENTS_FLUSH_MS = 50;

/**
 * Relays job changes between replicas: `changed` announces one (the job's new version, or
 * {@link DELETED_VERSION}), and every replica (this one included) hands it to `onChange` — the
 * leader's fire loop reloads the job, caches forget it. Returns the announcer and the unsubscribe function.
 */
export function relayJobChanges(
  coordinator: Coordinator,
  onChange: (jobId: string, version: number | undefined) => void,
  onError: (err: unknown, step: string) => void,
): { changed: (jobId: string, version: number) => void; stop: () => void } {
  const stop = coordinator.subscribe(JOB_CHANGED_TOPIC, (message) => {
    const [jobId, version] = message.split(" ");
    const n = Number(version);
    if (jobId) onChange(jobId, version !== undefined && Number.isSafeInteger(n) ? n : undefined);
  });
  return {
    changed: (jobId, version) =>
      void coordinator.publish(JOB_CHANGED_TOPIC, `${jobId} ${version}`).catch((err: unknown) => onError(err, "announce job change")),
    stop,
  };
}

/** The version announced for a deleted job: newer than any version it had. */
export const DELETED_VERSION = Number.MAX_SAFE_INTEGER;

/**
 * Extends run events across the cluster, so WatchRuns on any replica sees runs executing on any
 * other. A replica subscribes to the bus only while it has watchers, and a replica sends its
 * changes (batched) only while some other replica subscribes: a cluster nobody watches pays
 * nothing. Changes from other replicas reach this replica's watchers, never its publishers.
 */
export function createClusterRunEvents(local: RunEvents, coordinator: Coordinator, clock: Clock): RunEvents {
  let watchers = 0;
  let unsubscribe: (() => void) | undefined;
  let pending: RunRecord[] = [];
  let timer: TimerHandle | undefined;
  const flush = () => {
    timer = undefined;
    const runs = pending;
    pending = [];
    // Watch streams are best effort across replicas: a lost batch is not retried.
    void coordinator.publish(RUN_EVENTS_TOPIC, JSON.stringify({ from: coordinator.nodeId, runs })).catch(() => undefined);
  };
  const receive = (message: string) => {
    const batch = parseBatch(message);
    if (batch && batch.from !== coordinator.nodeId) for (const run of batch.runs) local.publish(run);
  };
  return {
    publish(run) {
      local.publish(run);
      if (!coordinator.hasPeerSubscribers(RUN_EVENTS_TOPIC)) return;
      pending.push(run);
      timer ??= clock.setTimer(RUN_EVENTS_FLUSH_MS, flush);
    },
    watched: () => local.watched() || coordinator.hasPeerSubscribers(RUN_EVENTS_TOPIC),
    subscribe(filter, listener) {
      const off = local.subscribe(filter, listener);
      if (watchers++ === 0) unsubscribe = coordinator.subscribe(RUN_EVENTS_TOPIC, receive);
      let subscribed = true;
      return () => {
        if (!subscribed) return;
        subscribed = false;
        off();
        if (--watchers === 0) unsubscribe?.();
      };
    },
  };
}

/** A batch of run changes off the bus; undefined when malformed. */
function parseBatch(message: string): { from: string; runs: RunRecord[] } | undefined {
  try {
    const batch = JSON.parse(message) as { from?: unknown; runs?: unknown };
    return typeof batch.from === "string" && Array.isArray(batch.runs) ? { from: batch.from, runs: batch.runs as RunRecord[] } : undefined;
  } catch {
    return undefined;
  }
}
