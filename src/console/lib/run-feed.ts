import { Code, ConnectError } from "@connectrpc/connect";
import { useEffect, useState } from "preact/hooks";
import type { Run } from "../../../gen/cronmesh/v1/run_pb.js";
import type { Api } from "../api/clients.js";
import { describeError, type ShownError } from "../api/errors.js";
import { msOf } from "./format.js";

/** A live list of runs: a first page, then every change from WatchRuns. */
export interface RunFeed {
  runs: Run[];
  /** True while the stream is open. */
  live: boolean;
  error: ShownError | undefined;
  /** Whether an older page exists. */
  more: boolean;
  loadMore(): void;
}

/** Reconnect delays after the stream drops: quick at first, then at most every 15 s. */
const RETRY_MS = [1000, 2000, 5000, 15_000];

/**
 * Merges a changed run into a list sorted newest first (by creation, then slot): a run already
 * listed is replaced in place, a new one is inserted where it belongs; at most `cap` are kept.
 */
export function upsertRun(runs: readonly Run[], run: Run, cap: number): Run[] {
  const i = runs.findIndex((r) => r.runId === run.runId);
  const next = i >= 0 ? runs.map((r, k) => (k === i ? run : r)) : [...runs, run];
  if (i < 0) next.sort((a, b) => runOrder(b) - runOrder(a) || b.runId.localeCompare(a.runId));
  return next.slice(0, cap);
}

function runOrder(r: Run): number {
  return msOf(r.createdAt) ?? msOf(r.scheduledAt) ?? 0;
}

/**
 * Lists the newest runs (of one job, or all) and keeps them current from a WatchRuns stream;
 * after a drop it lists again (to catch what the gap missed) and reconnects. An Unauthenticated
 * answer stops it: the page then asks for a token and remounts the view.
 */
export function useRunFeed(api: Api, jobId: string | undefined, pageSize: number, cap: number): RunFeed {
  const [runs, setRuns] = useState<Run[]>([]);
  const [live, setLive] = useState(false);
  const [error, setError] = useState<ShownError>();
  const [pageToken, setPageToken] = useState("");
  useEffect(() => {
    const abort = new AbortController();
    void follow(api, jobId ?? "", pageSize, cap, abort.signal, { setRuns, setLive, setError, setPageToken });
    return () => abort.abort();
  }, [api, jobId, pageSize, cap]);
  const loadMore = () => {
    if (!pageToken) return;
    api.runs.listRuns({ jobId: jobId ?? "", pageSize, pageToken }).then(
      (page) => {
        setRuns((rs) => page.runs.reduce((acc, r) => upsertRun(acc, r, Number.MAX_SAFE_INTEGER), rs));
        setPageToken(page.nextPageToken);
      },
      (err: unknown) => setError(describeError(err)),
    );
  };
  return { runs, live, error, more: pageToken !== "", loadMore };
}

interface FeedSetters {
  setRuns(update: (runs: Run[]) => Run[]): void;
  setLive(live: boolean): void;
  setError(error: ShownError | undefined): void;
  setPageToken(token: string): void;
}

async function follow(api: Api, jobId: string, pageSize: number, cap: number, signal: AbortSignal, set: FeedSetters): Promise<void> {
  for (let attempt = 0; !signal.aborted; attempt++) {
    try {
      // Subscribe first, then list: a change between the two is then seen by the stream.
      const stream = api.runs.watchRuns({ jobId }, { signal });
      const iterator = stream[Symbol.asyncIterator]();
      const first = iterator.next();
      first.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled meanwhile
      const page = await api.runs.listRuns({ jobId, pageSize }, { signal });
      set.setRuns((old) => page.runs.reduce((acc, r) => upsertRun(acc, r, cap), old));
      set.setPageToken(page.nextPageToken);
      set.setLive(true);
      set.setError(undefined);
      attempt = 0;
      for (let next = await first; !next.done; next = await iterator.next()) {
        const run = next.value.run;
        if (run) set.setRuns((old) => upsertRun(old, run, cap));
      }
    } catch (err) {
      if (signal.aborted) return;
      set.setError(describeError(err));
      if (ConnectError.from(err).code === Code.Unauthenticated) {
        set.setLive(false);
        return;
      }
    }
    set.setLive(false);
    await sleep(RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]!, signal);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
