import { durationMs } from "@bufbuild/protobuf/wkt";
import { useEffect } from "preact/hooks";
import { JobStatus, type Job } from "../../../gen/cronmesh/v1/job_pb.js";
import type { RunStatus } from "../../../gen/cronmesh/v1/run_pb.js";
import { JobBadge } from "../components/badges.js";
import { DagGraph } from "../components/dag-graph.js";
import { ErrorBox } from "../components/error-box.js";
import { RunFeedTable } from "../components/run-table.js";
import { Time } from "../components/time.js";
import { useConsole } from "../context.js";
import { concurrencyLabel, formatDuration, formatTime, misfireLabel, msOf, relativeTime, retryOnLabel, tagList, weekday } from "../lib/format.js";
import { useAsync, useNow } from "../lib/hooks.js";
import { useRunFeed } from "../lib/run-feed.js";
import { scheduleInWords } from "../lib/schedule-words.js";
import { href } from "../router.js";
import { JobActions } from "./job-actions.js";
import { JobVersions } from "./job-versions.js";

/** Fire times previewed on a job's page. */
const PREVIEW_COUNT = 10;
/** Runs listed at first; older ones come with "Load older". */
const RUNS_PAGE = 25;

/** One job: schedule and its next fire times, settings, DAG, live run history, versions and actions. */
export function JobDetailView({ jobId }: { jobId: string }) {
  const { api } = useConsole();
  const job = useAsync(() => api.cron.getJob({ jobId }).then((r) => r.job), [jobId], 10_000);
  if (!job.data) {
    return (
      <section>
        <p>
          <a href={href.jobs()}>← Jobs</a>
        </p>
        {job.error ? <ErrorBox error={job.error} /> : <p class="muted">Loading…</p>}
      </section>
    );
  }
  const j = job.data;
  return (
    <section class="job-detail">
      <p class="crumbs">
        <a href={href.jobs()}>← Jobs</a>
      </p>
      <div class="page-head">
        <div>
          <h2>
            {j.name} <JobBadge status={j.status} />
          </h2>
          <div class="muted small">
            <code>{j.jobId}</code> · v{String(j.version)} · updated <Time ms={msOf(j.updatedAt)} /> by {j.updatedBy || "—"}
          </div>
        </div>
        <JobActions job={j} onChanged={job.reload} />
      </div>
      <ErrorBox error={job.error} />
      {j.status === JobStatus.PAUSED ? (
        <div class="notice" data-testid="pause-note">
          Paused
          {j.pauseNote ? (
            <>
              : <q>{j.pauseNote}</q>
            </>
          ) : (
            " (no note)"
          )}
        </div>
      ) : j.pauseNote ? (
        <div class="notice info">
          Resumed: <q>{j.pauseNote}</q>
        </div>
      ) : null}
      {j.description ? <p class="description">{j.description}</p> : null}
      <div class="cards">
        <ScheduleCard job={j} />
        <SettingsCard job={j} />
      </div>
      <JobRuns job={j} />
      <div class="card">
        <h3>Versions</h3>
        <JobVersions job={j} onChanged={job.reload} />
      </div>
    </section>
  );
}

function ScheduleCard({ job }: { job: Job }) {
  const { api } = useConsole();
  const tz = job.timezone || "UTC";
  const now = useNow(1000);
  const preview = useAsync(
    () =>
      job.schedule
        ? api.cron.previewSchedule({ schedule: job.schedule, timezone: tz, count: PREVIEW_COUNT }).then((r) => r.times.map((t) => msOf(t)!))
        : Promise.resolve([]),
    [job.schedule, tz],
  );
  const first = preview.data?.[0];
  // The list is "from now": once its first time has passed, ask again.
  useEffect(() => {
    if (first !== undefined && first <= now) preview.reload();
  }, [first, now, preview.reload]);
  return (
    <div class="card">
      <h3>Schedule</h3>
      {job.schedule ? (
        <>
          <div class="schedule-line">
            <code class="big">{job.schedule}</code> <span class="muted">in {tz}</span>
          </div>
          <div class="words">{scheduleInWords(job.schedule) ?? ""}</div>
        </>
      ) : (
        <div>
          Once, at <Time ms={msOf(job.runAt)} zone={tz} />
        </div>
      )}
      <div class="kv compact">
        <span>Next run</span>
        {job.status === JobStatus.ACTIVE ? (
          <Time ms={msOf(job.nextTriggerAt)} due />
        ) : (
          <span class="muted">not while {JobStatus[job.status].toLowerCase()}</span>
        )}
        <span>Last run</span>
        <span>
          <Time ms={msOf(job.lastTriggeredAt)} />
          {job.lastRunDurationMs ? <span class="muted"> · took {formatDuration(job.lastRunDurationMs)}</span> : null}
        </span>
      </div>
      {job.schedule ? (
        <>
          <h4>Next {PREVIEW_COUNT} fire times</h4>
          <ErrorBox error={preview.error} />
          <table class="fire-times" data-testid="fire-times">
            <thead>
              <tr>
                <th>#</th>
                <th>{tz}</th>
                {tz !== "UTC" ? <th>UTC</th> : null}
                <th />
              </tr>
            </thead>
            <tbody>
              {preview.data?.map((ms, i) => (
                <tr key={ms}>
                  <td class="muted">{i + 1}</td>
                  <td class="mono">
                    {weekday(ms, tz)} {formatTime(ms, tz)}
                  </td>
                  {tz !== "UTC" ? <td class="mono muted">{formatTime(ms, "UTC")}</td> : null}
                  <td class="muted">{relativeTime(ms, now)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </div>
  );
}

function SettingsCard({ job }: { job: Job }) {
  const t = job.target;
  return (
    <div class="card">
      <h3>Target and policies</h3>
      <div class="kv">
        <span>Target</span>
        {job.tasks.length ? (
          <span>
            DAG of {job.tasks.length} tasks, each with its own call
            {t?.url ? (
              <div class="muted small mono wrap">
                job target (used by tasks without one): {t.method || "POST"} {t.url}
              </div>
            ) : null}
          </span>
        ) : t?.url ? (
          <span class="mono wrap">
            {t.method || "POST"} {t.url}
          </span>
        ) : job.handler ? (
          <span>
            handler <code>{job.handler}</code>
          </span>
        ) : (
          <span class="muted">—</span>
        )}
        {t?.timeout ? (
          <>
            <span>Timeout</span>
            <span>{formatDuration(durationMs(t.timeout))} per attempt</span>
          </>
        ) : null}
        <span>Overlap</span>
        <span>{concurrencyLabel(job.concurrencyPolicy)}</span>
        <span>Missed slots</span>
        <span>{misfireLabel(job.misfirePolicy)}</span>
        <span>Retries</span>
        <span>
          {job.retry?.maxAttempts || 1} attempt(s) · retries {retryOnLabel(job.retry?.retryOn ?? 0)}
        </span>
        <span>Tags</span>
        <span>
          {tagList(job.tags).map((tag) => (
            <span key={tag} class="tag">
              {tag}
            </span>
          ))}
        </span>
        <span>Counters</span>
        <span>
          {String(job.runCount)} runs · {String(job.failCount)} failed · {String(job.skippedCount)} skipped
        </span>
        <span>Created</span>
        <span>
          <Time ms={msOf(job.createdAt)} relative={false} /> by {job.createdBy || "—"}
        </span>
      </div>
    </div>
  );
}

function JobRuns({ job }: { job: Job }) {
  const { api } = useConsole();
  const feed = useRunFeed(api, job.jobId, RUNS_PAGE, 500);
  const outcomes = new Map<string, RunStatus>();
  for (const t of feed.runs.find((r) => r.taskResults.length)?.taskResults ?? []) outcomes.set(t.taskId, t.status);
  return (
    <>
      {job.tasks.length ? (
        <div class="card">
          <h3>
            Tasks <span class="muted small">dependency graph{outcomes.size ? ", coloured by the latest run" : ""}</span>
          </h3>
          <div class="dag-scroll">
            <DagGraph tasks={job.tasks} outcomes={outcomes} />
          </div>
        </div>
      ) : null}
      <div class="card">
        <h3>
          Run history <LiveDot live={feed.live} />
        </h3>
        <RunFeedTable feed={feed} empty="No runs yet." />
      </div>
    </>
  );
}

/** Whether a WatchRuns stream is open. */
export function LiveDot({ live }: { live: boolean }) {
  return (
    <span class={`live ${live ? "on" : "off"}`} data-live={live ? "on" : "off"}>
      {live ? "live" : "reconnecting…"}
    </span>
  );
}
