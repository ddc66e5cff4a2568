import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { describeError, type ShownError } from "../api/errors.js";

/** The state of one asynchronous load. */
export interface Async<T> {
  data: T | undefined;
  error: ShownError | undefined;
  loading: boolean;
  /** How many loads have completed (answers and errors): changes on every refresh. */
  loads: number;
  /** Loads again; the previous data stays on screen meanwhile. */
  reload(): void;
}

/**
 * Runs `load` when `deps` change (and on `reload`), keeping the last answer while a new one is on
 * its way; answers of superseded loads are dropped. With `refreshMs`, reloads on that period.
 */
export function useAsync<T>(load: () => Promise<T>, deps: unknown[], refreshMs?: number): Async<T> {
  const [state, setState] = useState<{ data?: T; error?: ShownError; loading: boolean; loads: number }>({ loading: true, loads: 0 });
  const [tick, setTick] = useState(0);
  const seq = useRef(0);
  useEffect(() => {
    const mine = ++seq.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => mine === seq.current && setState((s) => ({ data, loading: false, loads: s.loads + 1 })),
      (err: unknown) => mine === seq.current && setState((s) => ({ data: s.data, error: describeError(err), loading: false, loads: s.loads + 1 })),
    );
  }, [...deps, tick]);
  useEffect(() => {
    if (!refreshMs) return;
    const timer = setInterval(() => setTick((t) => t + 1), refreshMs);
    return () => clearInterval(timer);
  }, [refreshMs]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, loads: state.loads, reload };
}

/** The current time, ticking every `everyMs`, for relative times that stay true. */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}
