import { useState } from "preact/hooks";
import { RedriveVersion } from "../../../gen/cronmesh/v1/run_service_pb.js";
import type { Run } from "../../../gen/cronmesh/v1/run_pb.js";
import { describeError, errorLine } from "../api/errors.js";
import { RunBadge } from "../components/badges.js";
import { ErrorBox } from "../components/error-box.js";
import { AttemptTable } from "../components/run-table.js";
import { Time } from "../components/time.js";
import { useConsole } from "../context.js";
import { msOf, runTriggerLabel } from "../lib/format.js";
import { useAsync } from "../lib/hooks.js";
import { useJobNames } from "../lib/job-names.js";
import { href } from "../router.js";

const PAGE = 50;

/** The dead-letter queue: failed runs that used up their attempts, each with a redrive. */
export function DeadLettersView() {
  const { api } = useConsole();
  const [includeRedriven, setIncludeRedriven] = useState(false);
  const [version, setVersion] = useState(RedriveVersion.CURRENT);
  const [open, setOpen] = useState<string>();
  const list = useAsync(() => api.runs.listDeadLetters({ pageSize: PAGE, includeRedriven }).then((r) => r.runs), [includeRedriven], 5000);
  const names = useJobNames(
    api,
    (list.data ?? []).map((r) => r.jobId),
  );
  const runs = list.data ?? [];
  return (
    <section>
      <div class="page-head">
        <h2>Dead letters</h2>
        <div class="filters">
          <label class="check">
            <input type="checkbox" checked={includeRedriven} onChange={(e) => setIncludeRedriven(e.currentTarget.checked)} /> include redriven
          </label>
          <label>
            Redrive with
            <select value={version} onChange={(e) => setVersion(Number(e.currentTarget.value))}>
              <option value={RedriveVersion.CURRENT}>the job as it is now</option>
              <option value={RedriveVersion.ORIGINAL}>the version that failed</option>
            </select>
          </label>
        </div>
      </div>
      <ErrorBox error={list.error} />
      <table class="grid dlq">
        <thead>
          <tr>
            <th>Status</th>
            <th>Job</th>
            <th>Failed</th>
            <th>Trigger</th>
            <th class="num">Attempts</th>
            <th>Last error</th>
            <th>Redriven</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {runs.length === 0 && !list.loading ? (
            <tr>
              <td colSpan={8} class="empty">
                The dead-letter queue is empty.
              </td>
            </tr>
          ) : null}
          {runs.map((run) => (
            <DeadLetterRow
              key={run.runId}
              run={run}
              name={names.get(run.jobId)}
              version={version}
              open={open === run.runId}
              toggle={() => setOpen(open === run.runId ? undefined : run.runId)}
              onDone={list.reload}
            />
          ))}
        </tbody>
      </table>
    </section>
  );
}

interface RowProps {
  run: Run;
  name: string | undefined;
  version: RedriveVersion;
  open: boolean;
  toggle(): void;
  onDone(): void;
}

function DeadLetterRow({ run, name, version, open, toggle, onDone }: RowProps) {
  const { api, notify } = useConsole();
  const [redriven, setRedriven] = useState<string>();
  const redrive = (e: Event) => {
    e.stopPropagation();
    api.runs.redriveRun({ runId: run.runId, version }).then(
      (res) => {
        setRedriven(res.run?.runId);
        notify("ok", `Redriven: new run ${res.run?.runId ?? ""}`);
        onDone();
      },
      (err: unknown) => notify("error", errorLine(describeError(err))),
    );
  };
  const done = redriven ?? (run.redrivenAt ? run.redrivenByRunId || "yes" : undefined);
  return (
    <>
      <tr class="clickable" data-run-id={run.runId} onClick={toggle}>
        <td>
          <RunBadge run={run} />
        </td>
        <td>
          <a href={href.job(run.jobId)} onClick={(e) => e.stopPropagation()}>
            {name ?? run.jobId}
          </a>
        </td>
        <td class="small">
          <Time ms={msOf(run.deadLetteredAt) ?? msOf(run.finishedAt)} />
        </td>
        <td class="small">{runTriggerLabel(run.trigger)}</td>
        <td class="num small">{run.attempts.length}</td>
        <td class="small error-cell" title={run.error}>
          {run.error}
        </td>
        <td class="small">
          {run.redrivenAt ? <Time ms={msOf(run.redrivenAt)} /> : null}
          {done ? (
            <div class="mono muted" data-testid="redriven-by">
              → {done}
            </div>
          ) : null}
        </td>
        <td>
          <button type="button" class="small-button" onClick={redrive} disabled={!!done}>
            Redrive
          </button>
        </td>
      </tr>
      {open ? (
        <tr class="details">
          <td colSpan={8}>
            <div class="run-details">
              <div class="muted small">
                Run <code>{run.runId}</code> of job version v{String(run.jobVersion)}
              </div>
              <AttemptTable attempts={run.attempts} />
            </div>
          </td>
        </tr>
      ) : null}
    </>
  );
}
