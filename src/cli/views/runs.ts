import type { RedriveRunResponse, ReplayRunResponse } from "../../../gen/cronmesh/v1/run_service_pb.js";
import { RunStatus, RunTrigger, type Attempt, type Run } from "../../../gen/cronmesh/v1/run_pb.js";
import { formatDuration } from "../../domain/duration.js";
import { enumWord } from "../enum-words.js";
import { renderFields, renderTable, truncate } from "../table.js";
import { localTime } from "../time-format.js";

/** Longest error or result shown in a table cell; `runs get` shows it whole. */
const CELL_TEXT = 60;

function durationOf(run: Run): string {
  return run.finishedAt ? formatDuration(Number(run.durationMs)) : "-";
}

/** The run's last error, else its last attempt's HTTP status, else its result. */
function outcome(run: Run): string {
  const code = run.attempts[run.attempts.length - 1]?.statusCode;
  return truncate(run.error || (code ? `HTTP ${code}` : run.result) || "-", CELL_TEXT);
}

/** "failed" with "(dead letter)" or "(redriven)" added when the run is in, or was in, the dead-letter queue. */
function statusOf(run: Run): string {
  const status = enumWord(RunStatus, run.status);
  if (run.redrivenAt) return `${status} (redriven)`;
  if (run.deadLetteredAt && run.status !== RunStatus.DEAD_LETTERED) return `${status} (dead letter)`;
  return status;
}

/** Runs, newest first as listed: what ran when, how it ended. */
export function runsTable(runs: readonly Run[]): string {
  return renderTable(
    ["RUN ID", "JOB ID", "STATUS", "TRIGGER", "SCHEDULED", "DURATION", "ATTEMPTS", "RESULT"],
    runs.map((r) => [
      r.runId,
      r.jobId,
      statusOf(r),
      enumWord(RunTrigger, r.trigger),
      localTime(r.scheduledAt),
      durationOf(r),
      `${r.attempts.length}`,
      outcome(r),
    ]),
  );
}

/** The dead-letter queue: failed runs, when they failed, and what redrove them. */
export function deadLettersTable(runs: readonly Run[]): string {
  const redriven = runs.some((r) => r.redrivenByRunId);
  const header = ["RUN ID", "JOB ID", "FAILED AT", "ATTEMPTS", "ERROR", ...(redriven ? ["REDRIVEN BY"] : [])];
  return renderTable(
    header,
    runs.map((r) => [
      r.runId,
      r.jobId,
      localTime(r.deadLetteredAt ?? r.finishedAt),
      `${r.attempts.length}`,
      truncate(r.error || "-", CELL_TEXT),
      ...(redriven ? [r.redrivenByRunId || "-"] : []),
    ]),
  );
}

function attemptsTable(attempts: readonly Attempt[]): string {
  return renderTable(
    ["#", "STARTED", "HTTP", "DURATION", "ERROR / RESPONSE"],
    attempts.map((a) => [
      `${a.number}`,
      localTime(a.startedAt),
      a.statusCode ? `${a.statusCode}` : "-",
      formatDuration(Number(a.durationMs)),
      truncate([a.error, a.responseExcerpt].filter(Boolean).join(": ") || "-", CELL_TEXT),
    ]),
  );
}

/** Every detail of one run, then its attempts and, for a DAG job, its tasks' outcomes. */
export function runDetails(run: Run): string {
  const parts = [
    renderFields([
      ["Run ID", run.runId],
      ["Job ID", run.jobId],
      ["Job version", `${run.jobVersion}`],
      ["Project", run.projectId || undefined],
      ["Status", statusOf(run)],
      ["Trigger", enumWord(RunTrigger, run.trigger)],
      ["Scheduled", localTime(run.scheduledAt)],
      ["Due", localTime(run.dueAt)],
      ["Started", localTime(run.startedAt)],
      ["Finished", localTime(run.finishedAt)],
      ["Duration", durationOf(run)],
      ["Result", run.result || undefined],
      ["Error", run.error || undefined],
      ["Node", run.nodeId || undefined],
      ["Trace ID", run.traceId || undefined],
      ["Replay of", run.replayOf || undefined],
      ["Redrive of", run.redriveOf || undefined],
      ["Dead-lettered", run.deadLetteredAt ? localTime(run.deadLetteredAt) : undefined],
      ["Redriven", run.redrivenAt ? `${localTime(run.redrivenAt)} by run ${run.redrivenByRunId || "-"}` : undefined],
    ]),
  ];
  if (run.attempts.length) parts.push(`Attempts:\n${attemptsTable(run.attempts)}`);
  if (run.taskResults.length) {
    const rows = run.taskResults.map((t) => [t.taskId, enumWord(RunStatus, t.status), `${t.attempts.length}`, truncate(t.error || "-", CELL_TEXT)]);
    parts.push(`Tasks:\n${renderTable(["TASK ID", "STATUS", "ATTEMPTS", "ERROR"], rows)}`);
  }
  return parts.join("\n");
}

/** Widths of the streamed columns: a stream cannot measure rows it has not seen. Ids are 30 characters. */
const WATCH_COLUMNS: readonly (readonly [string, number])[] = [
  ["TIME", 25],
  ["RUN ID", 30],
  ["JOB ID", 30],
  ["STATUS", 13],
  ["TRIGGER", 8],
  ["ATTEMPTS", 8],
  ["DURATION", 8],
  ["RESULT", 0],
];

function watchRow(cells: readonly string[]): string {
  return (
    cells
      .map((c, i) => c.padEnd(WATCH_COLUMNS[i]![1]))
      .join("  ")
      .trimEnd() + "\n"
  );
}

/** The header line of `runs watch`. */
export function watchHeader(): string {
  return watchRow(WATCH_COLUMNS.map(([name]) => name));
}

/** One line of `runs watch`: a run as it changed. */
export function watchLine(run: Run): string {
  return watchRow([
    localTime(run.updatedAt),
    run.runId,
    run.jobId,
    statusOf(run),
    enumWord(RunTrigger, run.trigger),
    `${run.attempts.length}`,
    durationOf(run),
    outcome(run),
  ]);
}

/** One line about a run that has just ended (after `--wait`). */
export function runEnded(run: Run): string {
  const last = run.attempts[run.attempts.length - 1];
  const http = last?.statusCode && !run.error ? `, HTTP ${last.statusCode}` : "";
  const attempts = `${run.attempts.length} attempt${run.attempts.length === 1 ? "" : "s"}`;
  const why = run.error ? `: ${run.error}` : "";
  return `run ${run.runId} ${statusOf(run)} after ${durationOf(run)} (${attempts}${http})${why}\n`;
}

/** What a replay did. */
export function replayed(res: ReplayRunResponse): string {
  return `replaying run ${res.replayOf} as run ${res.run?.runId} (${res.run ? statusOf(res.run) : "-"})\n`;
}

/** What a redrive did. */
export function redriven(res: RedriveRunResponse): string {
  return `redriving dead letter ${res.redriveOf} as run ${res.run?.runId} (${res.run ? statusOf(res.run) : "-"})\n`;
}

/** What a cancel did. */
export function cancelled(run: Run): string {
  return `run ${run.runId} is ${statusOf(run)}\n`;
}
