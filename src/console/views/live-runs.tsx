import { RunFeedTable } from "../components/run-table.js";
import { useConsole } from "../context.js";
import { useJobNames } from "../lib/job-names.js";
import { useRunFeed } from "../lib/run-feed.js";
import { LiveDot } from "./job-detail.js";

/** Runs listed at first. */
const FIRST_PAGE = 50;
/** The live table keeps this many runs; older ones scroll out. */
const KEEP = 300;

/** Every run as it changes (WatchRuns), newest first, without reloading the page. */
export function LiveRunsView() {
  const { api } = useConsole();
  const feed = useRunFeed(api, undefined, FIRST_PAGE, KEEP);
  const names = useJobNames(
    api,
    feed.runs.map((r) => r.jobId),
  );
  return (
    <section>
      <div class="page-head">
        <h2>
          Live runs <LiveDot live={feed.live} />
        </h2>
        <span class="muted small">New runs and state changes appear as they happen. Click a run for its attempts.</span>
      </div>
      <RunFeedTable feed={feed} jobNames={names} empty="No runs yet: they appear here as soon as a job fires." />
    </section>
  );
}
