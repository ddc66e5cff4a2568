import type { Clock, TimerHandle } from "../domain/clock.js";

/**
 * Runs accepted ahead of their due time (a staged slot), held until then: grouped by due time,
 * with one alarm per distinct due time, so a slot of thousands of runs costs one timer. When a
 * due time comes its runs go to `release`, all at once; what becomes of them then (the queue, in
 * chunks) is the worker's business.
 */
export interface HeldRuns<T> {
  /** Holds `item` until `dueAt`; true when no run was held for that due time yet. */
  hold(item: T, dueAt: number): boolean;
  /** Takes a held `item` out before its time (cancelled); false when it was not held. A due time left empty is forgotten. */
  take(item: T, dueAt: number): boolean;
  /** Whether any run is held for `dueAt`. */
  has(dueAt: number): boolean;
  /** The earliest due time held; Infinity when none is. */
  nextAt(): number;
  /** Runs held. */
  count(): number;
  /** Takes every held run out at once (the node stops), cancelling the alarms. */
  drain(): T[];
}

/** Creates the hold, its alarms on `clock`. */
export function createHeldRuns<T>(clock: Clock, release: (items: T[]) => void): HeldRuns<T> {
  const groups = new Map<number, { items: Set<T>; alarm: TimerHandle }>();
  let count = 0;
  const due = (dueAt: number) => {
    const group = groups.get(dueAt);
    if (!group) return;
    groups.delete(dueAt);
    count -= group.items.size;
    release([...group.items]);
  };
  return {
    hold(item, dueAt) {
      count++;
      const group = groups.get(dueAt);
      if (group) {
        group.items.add(item);
        return false;
      }
      groups.set(dueAt, { items: new Set([item]), alarm: clock.setAlarm(dueAt, () => due(dueAt)) });
      return true;
    },
    take(item, dueAt) {
      const group = groups.get(dueAt);
      if (!group?.items.delete(item)) return false;
      count--;
      if (group.items.size === 0) {
        group.alarm.cancel();
        groups.delete(dueAt);
      }
      return true;
    },
    has: (dueAt) => groups.has(dueAt),
    nextAt() {
      let at = Infinity;
      for (const dueAt of groups.keys()) at = Math.min(at, dueAt);
      return at;
    },
    count: () => count,
    drain() {
      const out: T[] = [];
      for (const group of groups.values()) {
        group.alarm.cancel();
        out.push(...group.items);
      }
      groups.clear();
      count = 0;
      return out;
    },
  };
}
