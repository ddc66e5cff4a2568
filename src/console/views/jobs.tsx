import { JobStatus, type Job } from "../../../gen/cronmesh/v1/job_pb.js";
import type { Run } from "../../../gen/cronmesh/v1/run_pb.js";
import { useState } from "preact/hooks";
import { ErrorBox } from "../components/error-box.js";
import { JobBadge, OutcomeStrip } from "../components/badges.js";
import { Time } from "../components/time.js";
import { useConsole } from "../context.js";
import { formatDuration, msOf, tagList } from "../lib/format.js";
import { useAsync } from "../lib/hooks.js";
import { scheduleInWords } from "../lib/schedule-words.js";
import { href } from "../router.js";

/** Runs shown in each row's strip. */
const STRIP_RUNS = 12;
/** The list refreshes itself this often, so next and last runs stay current. */
const REFRESH_MS = 5000;
const PAGE_SIZES = [20, 50, 100];

interface Filters {
  status: JobStatus;
  tag: string;
  text: string;
  page: number;
  limit: number;
}

/** The jobs table: filters by status, tag and text, offset paging, and each job's recent outcomes. */
export function JobsView() {
  const { api } = useConsole();
  const [filters, setFilters] = useState<Filters>({ status: JobStatus.UNSPECIFIED, tag: "", text: "", page: 1, limit: PAGE_SIZES[0]! });
  const list = useAsync(
    async () => {
      const res = await api.cron.listJobs({
        status: filters.status,
        tag: filters.tag.trim(),
        text: filters.text.trim(),
        page: filters.page,
        limit: filters.limit,
      });
      const strips = await Promise.all(
        res.data.map((j) =>
          api.runs.listRuns({ jobId: j.jobId, pageSize: STRIP_RUNS }).then(
            (r) => r.runs,
            () => [] as Run[],
          ),
        ),
      );
      return { jobs: res.data, total: Number(res.pagination?.total ?? res.data.length), strips: new Map(res.data.map((j, i) => [j.jobId, strips[i]!])) };
    },
    [filters],
    REFRESH_MS,
  );
  const set = (change: Partial<Filters>) => setFilters((f) => ({ ...f, page: 1, ...change }));
  return (
    <section>
      <div class="page-head">
        <h2>Jobs</h2>
        <a class="button primary" href={href.newJob()}>
          New job
        </a>
      </div>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Status
          <select name="status" value={filters.status} onChange={(e) => set({ status: Number(e.currentTarget.value) as JobStatus })}>
            <option value={JobStatus.UNSPECIFIED}>all</option>
            <option value={JobStatus.ACTIVE}>active</option>
            <option value={JobStatus.PAUSED}>paused</option>
            <option value={JobStatus.COMPLETED}>completed</option>
            <option value={JobStatus.CANCELLED}>cancelled</option>
          </select>
        </label>
        <TextFilter label="Tag" name="tag" placeholder="team=billing or team" onApply={(tag) => set({ tag })} />
        <TextFilter label="Search" name="text" placeholder="name or description" onApply={(text) => set({ text })} />
        <span class="spacer" />
        {list.loading ? <span class="muted small">loading…</span> : null}
      </form>
      <ErrorBox error={list.error} />
      <table class="grid jobs" data-loads={list.loads}>
        <thead>
          <tr>
            <th>Status</th>
            <th>Job</th>
            <th>Schedule</th>
            <th>Time zone</th>
            <th>Next run</th>
            <th>Last run</th>
            <th>Recent outcomes</th>
            <th class="num">Runs / fails</th>
          </tr>
        </thead>
        <tbody>
          {list.data?.jobs.map((job) => (
            <JobRow key={job.jobId} job={job} runs={list.data?.strips.get(job.jobId)} />
          ))}
          {list.data && list.data.jobs.length === 0 ? (
            <tr>
              <td colSpan={8} class="empty">
                No jobs match. <a href={href.newJob()}>Create one</a>.
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
      <Pager filters={filters} total={list.data?.total ?? 0} shown={list.data?.jobs.length ?? 0} onChange={(c) => setFilters((f) => ({ ...f, ...c }))} />
    </section>
  );
}

/**
 * A text filter applied on Enter or when the input loses focus. The input keeps its own state:
 * the list refreshing itself meanwhile must not reset what is being typed.
 */
function TextFilter({ label, name, placeholder, onApply }: { label: string; name: string; placeholder: string; onApply: (value: string) => void }) {
  const [value, setValue] = useState("");
  return (
    <label>
      {label}
      <input
        name={name}
        placeholder={placeholder}
        value={value}
        onInput={(e) => setValue(e.currentTarget.value)}
        onChange={(e) => onApply(e.currentTarget.value)}
      />
    </label>
  );
}

function JobRow({ job, runs }: { job: Job; runs: Run[] | undefined }) {
  const words = job.schedule ? scheduleInWords(job.schedule) : undefined;
  return (
    <tr data-job-id={job.jobId}>
      <td>
        <JobBadge status={job.status} />
      </td>
      <td>
        <a class="job-name" href={href.job(job.jobId)}>
          {job.name}
        </a>
        <div class="tags">
          {tagList(job.tags).map((t) => (
            <span key={t} class="tag">
              {t}
            </span>
          ))}
          {job.tasks.length ? <span class="tag dag-tag">DAG · {job.tasks.length} tasks</span> : null}
        </div>
      </td>
      <td>
        {job.schedule ? <code>{job.schedule}</code> : <span class="muted">once</span>}
        <div class="muted small">{job.schedule ? (words ?? "") : <Time ms={msOf(job.runAt)} relative={false} />}</div>
      </td>
      <td class="small">{job.timezone || "UTC"}</td>
      <td class="small">{job.status === JobStatus.ACTIVE ? <Time ms={msOf(job.nextTriggerAt)} due /> : <span class="muted">—</span>}</td>
      <td class="small">
        <Time ms={msOf(job.lastTriggeredAt)} />
        {job.lastRunDurationMs ? <div class="muted">took {formatDuration(job.lastRunDurationMs)}</div> : null}
      </td>
      <td>
        <OutcomeStrip runs={runs} />
      </td>
      <td class="num small">
        {String(job.runCount)} / <span class={job.failCount ? "bad-text" : ""}>{String(job.failCount)}</span>
      </td>
    </tr>
  );
}

function Pager({ filters, total, shown, onChange }: { filters: Filters; total: number; shown: number; onChange: (c: Partial<Filters>) => void }) {
  const first = total === 0 ? 0 : (filters.page - 1) * filters.limit + 1;
  const pages = Math.max(1, Math.ceil(total / filters.limit));
  return (
    <div class="pager">
      <span class="muted small grow">Times are in your browser's time zone ({Intl.DateTimeFormat().resolvedOptions().timeZone}).</span>
      <span class="muted small" data-testid="page-range">
        {total === 0 ? "none" : `${first}–${first + Math.max(0, shown - 1)} of ${total}`}
      </span>
      <button type="button" disabled={filters.page <= 1} onClick={() => onChange({ page: filters.page - 1 })}>
        ‹ Prev
      </button>
      <span class="small">
        page {filters.page} / {pages}
      </span>
      <button type="button" disabled={filters.page >= pages} onClick={() => onChange({ page: filters.page + 1 })}>
        Next ›
      </button>
      <select aria-label="page size" value={filters.limit} onChange={(e) => onChange({ limit: Number(e.currentTarget.value), page: 1 })}>
        {PAGE_SIZES.map((n) => (
          <option key={n} value={n}>
            {n} per page
          </option>
        ))}
      </select>
    </div>
  );
}
