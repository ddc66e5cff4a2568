import { useState } from "preact/hooks";
import type { Job, JobVersion } from "../../../gen/cronmesh/v1/job_pb.js";
import { describeError, type ShownError } from "../api/errors.js";
import { ErrorBox } from "../components/error-box.js";
import { Modal } from "../components/modal.js";
import { Time } from "../components/time.js";
import { VersionDiff } from "../components/version-diff.js";
import { useConsole } from "../context.js";
import { msOf } from "../lib/format.js";
import { useAsync } from "../lib/hooks.js";
import { configText } from "../lib/job-form.js";

/** Versions listed at once; older ones are rarely the ones to roll back to. */
const VERSIONS_PAGE = 50;

/** A job's versions, newest first: pick one to see what it changed, or roll back to it. */
export function JobVersions({ job, onChanged }: { job: Job; onChanged: () => void }) {
  const { api } = useConsole();
  const versions = useAsync(() => api.cron.listJobVersions({ jobId: job.jobId, pageSize: VERSIONS_PAGE }).then((r) => r.versions), [job.jobId, job.version]);
  const [picked, setPicked] = useState<bigint>();
  const [rollback, setRollback] = useState<JobVersion>();
  const list = versions.data ?? [];
  const selected = list.find((v) => v.version === picked) ?? list[0];
  const previous = selected ? list.find((v) => v.version === selected.version - 1n) : undefined;
  return (
    <div class="versions">
      <ErrorBox error={versions.error} />
      <div class="versions-layout">
        <table class="grid versions-list">
          <thead>
            <tr>
              <th>Version</th>
              <th>When</th>
              <th>By</th>
              <th>What</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.map((v) => (
              <tr
                key={String(v.version)}
                class={`clickable ${v === selected ? "open" : ""}`}
                data-version={String(v.version)}
                onClick={() => setPicked(v.version)}
              >
                <td class="mono">
                  v{String(v.version)}
                  {v.version === job.version ? <span class="muted"> (current)</span> : null}
                </td>
                <td class="small">
                  <Time ms={msOf(v.createdAt)} />
                </td>
                <td class="small">{v.createdBy || "—"}</td>
                <td class="small">{v.reason}</td>
                <td>
                  {v.version !== job.version ? (
                    <button type="button" class="small-button" onClick={(e) => (e.stopPropagation(), setRollback(v))}>
                      Roll back…
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {selected ? (
          <VersionDiff
            before={configText(previous?.config)}
            after={configText(selected.config)}
            labels={[previous ? `v${previous.version}` : "nothing", `v${selected.version} (${selected.reason || "change"})`]}
          />
        ) : null}
      </div>
      {rollback ? <RollbackDialog job={job} target={rollback} onClose={() => setRollback(undefined)} onDone={onChanged} /> : null}
    </div>
  );
}

function RollbackDialog({ job, target, onClose, onDone }: { job: Job; target: JobVersion; onClose: () => void; onDone: () => void }) {
  const { api, notify } = useConsole();
  const [error, setError] = useState<ShownError>();
  const confirm = () =>
    api.cron.rollbackJob({ jobId: job.jobId, version: target.version }).then(
      (res) => {
        notify("ok", `Rolled back to v${target.version}: now v${res.newVersion}`);
        onClose();
        onDone();
      },
      (err: unknown) => setError(describeError(err)),
    );
  return (
    <Modal title={`Roll back ${job.name} to v${target.version}?`} onClose={onClose}>
      <p>
        This writes a new version (v{String(job.version + 1n)}) whose configuration is that of v{String(target.version)}. What changes from the current version:
      </p>
      <VersionDiff before={configText(job)} after={configText(target.config)} labels={[`v${job.version} (current)`, `v${target.version}`]} />
      <ErrorBox error={error} />
      <div class="actions end">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        <button type="button" class="primary" onClick={confirm}>
          Roll back
        </button>
      </div>
    </Modal>
  );
}
