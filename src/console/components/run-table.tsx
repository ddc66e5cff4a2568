import { Fragment } from "preact";
import { useState } from "preact/hooks";
import { RunStatus, type Attempt, type Run } from "../../../gen/cronmesh/v1/run_pb.js";
import { useConsole } from "../context.js";
import type { RunFeed } from "../lib/run-feed.js";
import { ErrorBox } from "./error-box.js";
import { describeError, errorLine } from "../api/errors.js";
import { formatDuration, msOf, runStatusLabel, runTriggerLabel } from "../lib/format.js";
import { href } from "../router.js";
import { RunBadge } from "./badges.js";
import { Time } from "./time.js";

const FINAL = new Set([RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.SKIPPED, RunStatus.CANCELLED, RunStatus.DEAD_LETTERED]);

/** Options of {@link RunTable}. */
export interface RunTableProps {
  runs: Run[];
  /** Job names by id, for a table that mixes jobs (Live runs); without it there is no job column. */
  jobNames?: Map<string, string>;
  empty: string;
}

/** Runs, newest first; a click on a row shows its attempts, task results and links, with cancel and replay. */
export function RunTable({ runs, jobNames, empty }: RunTableProps) {
  const [open, setOpen] = useState<string>();
  const columns = jobNames ? 10 : 9;
  return (
    <table class="grid runs">
      <thead>
        <tr>
          <th>Status</th>
          {jobNames ? <th>Job</th> : null}
          <th>Trigger</th>
          <th>Slot</th>
          <th>Started</th>
          <th class="num">Duration</th>
          <th class="num">Attempts</th>
          <th class="num">HTTP</th>
          <th>Result</th>
          <th>Run</th>
        </tr>
      </thead>
      <tbody>
        {runs.length === 0 ? (
          <tr>
            <td colSpan={columns} class="empty">
              {empty}
            </td>
          </tr>
        ) : null}
        {runs.map((run) => (
          <Fragment key={run.runId}>
            <tr
              class={`clickable ${open === run.runId ? "open" : ""}`}
              data-run-id={run.runId}
              onClick={() => setOpen(open === run.runId ? undefined : run.runId)}
            >
              <td>
                <RunBadge run={run} />
              </td>
              {jobNames ? (
                <td>
                  <a href={href.job(run.jobId)} onClick={(e) => e.stopPropagation()}>
                    {jobNames.get(run.jobId) ?? run.jobId}
                  </a>
                </td>
              ) : null}
              <td class="small">{runTriggerLabel(run.trigger)}</td>
              <td class="small">
                <Time ms={msOf(run.scheduledAt)} />
              </td>
              <td class="small">
                <Time ms={msOf(run.startedAt)} relative={false} />
              </td>
              <td class="num small">{run.durationMs || FINAL.has(run.status) ? formatDuration(run.durationMs) : "…"}</td>
              <td class="num small">{attemptCount(run)}</td>
              <td class="num small mono">{lastStatusCode(run.attempts)}</td>
              <td class={`small result-cell ${run.error ? "bad-text" : "muted"}`} title={run.error || run.result}>
                {run.error || run.result}
              </td>
              <td class="small mono muted">{run.runId.slice(-10)}</td>
            </tr>
            {open === run.runId ? (
              <tr class="details">
                <td colSpan={columns}>
                  <RunDetails run={run} />
                </td>
              </tr>
            ) : null}
          </Fragment>
        ))}
      </tbody>
    </table>
  );
}

/** A live run list: its stream's error, the table, and "Load older runs" while there are more. */
export function RunFeedTable({ feed, jobNames, empty }: { feed: RunFeed } & Omit<RunTableProps, "runs">) {
  return (
    <>
      <ErrorBox error={feed.error} />
      <RunTable runs={feed.runs} jobNames={jobNames} empty={empty} />
      {feed.more ? (
        <div class="pager">
          <button type="button" onClick={feed.loadMore}>
            Load older runs
          </button>
        </div>
      ) : null}
    </>
  );
}

/** A run's HTTP calls: its own attempts, or for a DAG run those of all its tasks. */
function attemptCount(run: Run): string {
  if (!run.taskResults.length) return String(run.attempts.length);
  const calls = run.taskResults.reduce((n, t) => n + t.attempts.length, 0);
  return `${calls} in ${run.taskResults.length} tasks`;
}

function lastStatusCode(attempts: Attempt[]): string {
  const code = attempts[attempts.length - 1]?.statusCode;
  return code ? String(code) : attempts.length ? "—" : "";
}

/** A run's identity and links: id, job version, node, trace, replay and redrive. */
function RunFacts({ run }: { run: Run }) {
  const facts: [string, string | undefined, boolean][] = [
    ["Run", run.runId, true],
    ["Job version", `v${run.jobVersion}`, false],
    ["Node", run.nodeId || "—", false],
    ["Trace", run.traceId, true],
    ["Replay of", run.replayOf, true],
    ["Redrive of", run.redriveOf, true],
    ["Redriven by", run.redrivenByRunId, true],
    ["Result", run.result, false],
  ];
  return (
    <div class="kv">
      {facts
        .filter(([, value]) => value)
        .map(([label, value, code]) => (
          <Fragment key={label}>
            <span>{label}</span>
            {code ? <code>{value}</code> : <span>{value}</span>}
          </Fragment>
        ))}
    </div>
  );
}

function RunDetails({ run }: { run: Run }) {
  const { api, notify } = useConsole();
  const act = (what: string, call: () => Promise<{ run?: Run }>) =>
    call().then(
      (res) => notify("ok", `${what}: run ${res.run?.runId ?? ""}`),
      (err: unknown) => notify("error", errorLine(describeError(err))),
    );
  return (
    <div class="run-details">
      <RunFacts run={run} />
      <AttemptTable attempts={run.attempts} />
      {run.taskResults.length ? (
        <table class="grid inner">
          <thead>
            <tr>
              <th>Task</th>
              <th>Status</th>
              <th class="num">Attempts</th>
              <th>Error</th>
            </tr>
          </thead>
          <tbody>
            {run.taskResults.map((t) => (
              <tr key={t.taskId}>
                <td class="mono">{t.taskId}</td>
                <td>{runStatusLabel(t.status)}</td>
                <td class="num">{t.attempts.length}</td>
                <td class="error-cell">{t.error}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <div class="actions">
        {FINAL.has(run.status) ? (
          <button type="button" onClick={() => act("Replayed", () => api.runs.replayRun({ runId: run.runId }))}>
            Replay
          </button>
        ) : (
          <button
            type="button"
            class="danger"
            onClick={() => act("Cancelled", () => api.runs.cancelRun({ runId: run.runId, reason: "cancelled from the web console" }))}
          >
            Cancel run
          </button>
        )}
      </div>
    </div>
  );
}

/** A run's HTTP attempts: status code, duration, error and the start of the answer. */
export function AttemptTable({ attempts }: { attempts: Attempt[] }) {
  if (attempts.length === 0) return <div class="muted small">No attempt yet.</div>;
  return (
    <table class="grid inner attempts">
      <thead>
        <tr>
          <th class="num">#</th>
          <th>Started</th>
          <th class="num">HTTP</th>
          <th class="num">Duration</th>
          <th>Error</th>
          <th>Response</th>
        </tr>
      </thead>
      <tbody>
        {attempts.map((a) => (
          <tr key={a.number}>
            <td class="num">{a.number}</td>
            <td>
              <Time ms={msOf(a.startedAt)} relative={false} />
            </td>
            <td class={`num mono ${a.statusCode >= 400 || (a.statusCode === 0 && a.error) ? "bad-text" : ""}`}>{a.statusCode || "—"}</td>
            <td class="num">{formatDuration(a.durationMs)}</td>
            <td class="error-cell">{a.error}</td>
            <td class="mono excerpt">{a.responseExcerpt}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
