import { JobStatus } from "../../../gen/cronmesh/v1/job_pb.js";
import { RunStatus, type Run } from "../../../gen/cronmesh/v1/run_pb.js";
import { formatDuration, formatTime, jobStatusLabel, msOf, runStatusLabel, runTriggerLabel } from "../lib/format.js";

/** The colour class of a run status: ok, bad, busy, muted or dlq. */
export function runTone(status: RunStatus): string {
  switch (status) {
    case RunStatus.SUCCEEDED:
      return "ok";
    case RunStatus.FAILED:
      return "bad";
    case RunStatus.DEAD_LETTERED:
      return "dlq";
    case RunStatus.QUEUED:
    case RunStatus.RUNNING:
      return "busy";
    default:
      return "muted";
  }
}

const JOB_TONES: Partial<Record<JobStatus, string>> = {
  [JobStatus.ACTIVE]: "ok",
  [JobStatus.PAUSED]: "warn",
  [JobStatus.COMPLETED]: "muted",
  [JobStatus.CANCELLED]: "muted",
};

/** A job's status as a coloured pill. */
export function JobBadge({ status }: { status: JobStatus }) {
  return (
    <span class={`badge ${JOB_TONES[status] ?? "muted"}`} data-status={jobStatusLabel(status)}>
      {jobStatusLabel(status)}
    </span>
  );
}

/** A run's status as a coloured pill; a failed run in the dead-letter queue says so. */
export function RunBadge({ run }: { run: Pick<Run, "status" | "deadLetteredAt" | "redrivenAt"> }) {
  const dlq = run.status === RunStatus.FAILED && run.deadLetteredAt && !run.redrivenAt;
  return (
    <span class={`badge ${runTone(run.status)}`} data-status={runStatusLabel(run.status)}>
      {runStatusLabel(run.status)}
      {dlq ? <span class="badge-note"> · DLQ</span> : null}
    </span>
  );
}

/** Recent runs as small squares, oldest left; each square's tooltip tells the run. */
export function OutcomeStrip({ runs }: { runs: Run[] | undefined }) {
  if (!runs) return <span class="strip muted">…</span>;
  if (runs.length === 0) return <span class="strip muted">no runs</span>;
  return (
    <span class="strip" aria-label="recent outcomes">
      {[...runs].reverse().map((r) => (
        <i
          key={r.runId}
          class={`tick ${runTone(r.status)}`}
          title={`${runStatusLabel(r.status)} · ${runTriggerLabel(r.trigger)} · ${formatTime(msOf(r.scheduledAt))} · ${formatDuration(r.durationMs)}${r.error ? ` · ${r.error}` : ""}`}
        />
      ))}
    </span>
  );
}
