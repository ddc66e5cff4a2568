import { useState } from "preact/hooks";
import { JobStatus, type Job } from "../../../gen/cronmesh/v1/job_pb.js";
import { describeError, errorLine, type ShownError } from "../api/errors.js";
import { ErrorBox } from "../components/error-box.js";
import { Modal } from "../components/modal.js";
import { useConsole } from "../context.js";
import { href, navigate } from "../router.js";

/** Trigger, pause or resume with a note, edit and delete: the buttons of a job's page. */
export function JobActions({ job, onChanged }: { job: Job; onChanged: () => void }) {
  const { api, notify } = useConsole();
  const [dialog, setDialog] = useState<"pause" | "resume" | "delete">();
  const paused = job.status === JobStatus.PAUSED;
  const trigger = () =>
    api.cron.triggerJob({ jobId: job.jobId }).then(
      (res) => {
        if (res.lockAcquired) notify("ok", `Triggered: run ${res.runId}`);
        else notify("error", `Not started: the concurrency policy blocked it (run ${res.runId} recorded as skipped)`);
        onChanged();
      },
      (err: unknown) => notify("error", errorLine(describeError(err))),
    );
  return (
    <div class="actions">
      <button type="button" class="primary" onClick={trigger} disabled={job.status === JobStatus.CANCELLED}>
        Trigger now
      </button>
      {paused ? (
        <button type="button" onClick={() => setDialog("resume")}>
          Resume…
        </button>
      ) : (
        <button type="button" onClick={() => setDialog("pause")} disabled={job.status !== JobStatus.ACTIVE}>
          Pause…
        </button>
      )}
      <a class="button" href={href.editJob(job.jobId)}>
        Edit
      </a>
      <button type="button" class="danger" onClick={() => setDialog("delete")}>
        Delete…
      </button>
      {dialog === "pause" || dialog === "resume" ? (
        <PauseDialog job={job} resume={dialog === "resume"} onClose={() => setDialog(undefined)} onDone={onChanged} />
      ) : null}
      {dialog === "delete" ? <DeleteDialog job={job} onClose={() => setDialog(undefined)} /> : null}
    </div>
  );
}

function PauseDialog({ job, resume, onClose, onDone }: { job: Job; resume: boolean; onClose: () => void; onDone: () => void }) {
  const { api, notify } = useConsole();
  const [note, setNote] = useState("");
  const [error, setError] = useState<ShownError>();
  const submit = (e: Event) => {
    e.preventDefault();
    const call = resume ? api.cron.resumeJob({ jobId: job.jobId, note }) : api.cron.pauseJob({ jobId: job.jobId, note });
    call.then(
      () => {
        notify("ok", resume ? `Resumed ${job.name}` : `Paused ${job.name}`);
        onClose();
        onDone();
      },
      (err: unknown) => setError(describeError(err)),
    );
  };
  return (
    <Modal title={resume ? `Resume ${job.name}` : `Pause ${job.name}`} onClose={onClose}>
      <form onSubmit={submit} class="stack">
        <p class="muted">{resume ? "The job fires again from its next slot." : "The job keeps its schedule but does not fire until resumed."}</p>
        <label>
          Note (kept with the job and its version history)
          <input
            name="note"
            value={note}
            onInput={(e) => setNote(e.currentTarget.value)}
            placeholder={resume ? "why it can run again" : "why it is paused"}
            autoFocus
          />
        </label>
        <ErrorBox error={error} />
        <div class="actions end">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary">
            {resume ? "Resume" : "Pause"}
          </button>
        </div>
      </form>
    </Modal>
  );
}

function DeleteDialog({ job, onClose }: { job: Job; onClose: () => void }) {
  const { api, notify } = useConsole();
  const [error, setError] = useState<ShownError>();
  const remove = () =>
    api.cron.deleteJob({ jobId: job.jobId }).then(
      (res) => {
        notify("ok", `Deleted ${job.name}${res.cancelledRuns ? `; ${res.cancelledRuns} unfinished run(s) cancelled` : ""}`);
        navigate(href.jobs());
      },
      (err: unknown) => setError(describeError(err)),
    );
  return (
    <Modal title={`Delete ${job.name}?`} onClose={onClose}>
      <p>The job and its schedule are removed. Its queued, running and retrying runs are cancelled first. This cannot be undone.</p>
      <ErrorBox error={error} />
      <div class="actions end">
        <button type="button" onClick={onClose}>
          Keep it
        </button>
        <button type="button" class="danger" onClick={remove}>
          Delete job
        </button>
      </div>
    </Modal>
  );
}
