/** An entry of the heap: a job due at a time. */
export interface DueEntry {
  dueAt: number;
  jobId: string;
}

/**
 * A binary min-heap of due jobs. One job has at most one live entry: pushing a job again
 * supersedes its earlier entry, which is dropped lazily when it reaches the top.
 */
export interface DueHeap {
  push(entry: DueEntry): void;
  remove(jobId: string): void;
  /** The earliest live due time, if any. */
  peekDueAt(): number | undefined;
  /** Removes and returns the live entries due at or before `t`, earliest first, at most `limit` of them. */
  popDue(t: number, limit?: number): DueEntry[];
  clear(): void;
  /**
   * How many entries are due at or before `t`, counting at most `cap` (stale entries included:
   * an estimate that costs O(answer), not O(size)).
   */
  countDueBy(t: number, cap: number): number;
  readonly size: number;
}

/** Creates an empty heap. */
export function createDueHeap(): DueHeap {
  const heap: (DueEntry & { gen: number })[] = [];
  const live = new Map<string, number>();
  let gen = 0;

  const less = (a: number, b: number) => heap[a]!.dueAt < heap[b]!.dueAt;
  const swap = (a: number, b: number) => ([heap[a], heap[b]] = [heap[b]!, heap[a]!]);
  const up = (i: number) => {
    for (let p = (i - 1) >> 1; i > 0 && less(i, p); i = p, p = (i - 1) >> 1) swap(i, p);
  };
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && less(l, m)) m = l;
      if (r < heap.length && less(r, m)) m = r;
      if (m === i) return;
      swap(i, m);
      i = m;
    }
  };
  const pop = () => {
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      down(0);
    }
    return top;
  };
  const dropStale = () => {
    while (heap.length > 0 && live.get(heap[0]!.jobId) !== heap[0]!.gen) pop();
  };

  return {
    push(entry) {
      const g = ++gen;
      live.set(entry.jobId, g);
      heap.push({ ...entry, gen: g });
      up(heap.length - 1);
    },
    remove: (jobId) => void live.delete(jobId),
    peekDueAt() {
      dropStale();
      return heap[0]?.dueAt;
    },
    popDue(t, limit = Infinity) {
      const out: DueEntry[] = [];
      for (dropStale(); out.length < limit && heap.length > 0 && heap[0]!.dueAt <= t; dropStale()) {
        const { dueAt, jobId } = pop();
        live.delete(jobId);
        out.push({ dueAt, jobId });
      }
      return out;
    },
    clear() {
      heap.length = 0;
      live.clear();
    },
    countDueBy(t, cap) {
      let count = 0;
      const stack = heap.length > 0 ? [0] : [];
      while (stack.length > 0 && count < cap) {
        const i = stack.pop()!;
        if (heap[i]!.dueAt > t) continue;
        count++;
        if (2 * i + 1 < heap.length) stack.push(2 * i + 1);
        if (2 * i + 2 < heap.length) stack.push(2 * i + 2);
      }
      return count;
    },
    get size() {
      return live.size;
    },
  };
}
