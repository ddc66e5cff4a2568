import { Code } from "@connectrpc/connect";
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ConcurrencyPolicy, MisfirePolicy, RetryOn, type Job, type JobVersion } from "../../../gen/cronmesh/v1/job_pb.js";
import { describeError, type ShownError } from "../api/errors.js";
import { ErrorBox } from "../components/error-box.js";
import { Time } from "../components/time.js";
import { VersionDiff } from "../components/version-diff.js";
import { useConsole } from "../context.js";
import { formatTime, msOf } from "../lib/format.js";
import { useAsync } from "../lib/hooks.js";
import { changedPaths, configText, emptyForm, formFromJob, jobFromForm, mergeEdits, type JobForm } from "../lib/job-form.js";
import { scheduleInWords } from "../lib/schedule-words.js";
import { href, navigate } from "../router.js";

/** The create form. */
export function NewJobView() {
  return <JobFormView />;
}

/** The edit form of a stored job. */
export function EditJobView({ jobId }: { jobId: string }) {
  const { api } = useConsole();
  const job = useAsync(() => api.cron.getJob({ jobId }).then((r) => r.job!), [jobId]);
  if (!job.data) return job.error ? <ErrorBox error={job.error} /> : <p class="muted">Loading…</p>;
  return <JobFormView base={job.data} />;
}

/** Someone else's write that the edit ran into. */
interface Conflict {
  latest: Job;
  version: JobVersion | undefined;
}

/**
 * The job form. Creating sends CreateJob; editing sends UpdateJob with the version the form was
 * opened at, so a concurrent change comes back as Aborted and is shown (who, when, what changed)
 * instead of being overwritten. The field named by an InvalidArgument answer is highlighted.
 */
function JobFormView({ base }: { base?: Job }) {
  const { api, notify } = useConsole();
  const [form, setForm] = useState<JobForm>(() => (base ? formFromJob(base) : emptyForm()));
  // What the inputs held when filled: an edit sends only the fields changed since.
  const [filled, setFilled] = useState<JobForm>(form);
  const [expected, setExpected] = useState(base?.version ?? 0n);
  const [error, setError] = useState<ShownError>();
  const [conflict, setConflict] = useState<Conflict>();
  const [busy, setBusy] = useState(false);
  const set = (change: Partial<JobForm>) => setForm((f) => ({ ...f, ...change }));

  const submit = async (e?: Event, version = expected) => {
    e?.preventDefault();
    const parsed = jobFromForm(form);
    if ("problem" in parsed) {
      const { field, message } = parsed.problem;
      setError({ title: "Invalid input", message: `${field}: ${message}`, field, code: Code.InvalidArgument });
      return;
    }
    const job = parsed.job;
    const paths = changedPaths(filled, form);
    if (base && paths.length === 0) {
      setError({ title: "Nothing to save", message: "No field was changed.", code: Code.FailedPrecondition });
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const saved = base
        ? (await api.cron.updateJob({ job: { ...job, jobId: base.jobId, version }, updateMask: { paths } })).job!
        : (await api.cron.createJob({ job })).job!;
      notify("ok", base ? `Saved ${saved.name} as v${saved.version}` : `Created ${saved.name}`);
      navigate(href.job(saved.jobId));
    } catch (err) {
      const shown = describeError(err);
      if (base && shown.code === Code.Aborted) {
        const found = await loadConflict(base.jobId);
        setConflict(found);
        setExpected(found.latest.version);
      } else setError(shown);
    } finally {
      setBusy(false);
    }
  };

  const loadConflict = async (jobId: string): Promise<Conflict> => {
    const latest = (await api.cron.getJob({ jobId })).job!;
    const version = await api.cron.getJobVersion({ jobId, version: latest.version }).then(
      (r) => r.version,
      () => undefined,
    );
    return { latest, version };
  };

  const field = error?.field;
  useEffect(() => {
    // Take the operator to the input the server named.
    if (field) document.querySelector<HTMLElement>(`[data-field="${CSS.escape(field)}"] :is(input, select, textarea)`)?.focus();
  }, [field, error]);
  return (
    <section class="job-form">
      <p class="crumbs">
        <a href={base ? href.job(base.jobId) : href.jobs()}>← {base ? base.name : "Jobs"}</a>
      </p>
      <h2>{base ? `Edit ${base.name}` : "New job"}</h2>
      {base ? (
        <p class="muted small">Editing v{String(base.version)}. If someone saves in the meantime, you will see their change before anything is overwritten.</p>
      ) : null}
      {conflict && base ? (
        <ConflictBox
          conflict={conflict}
          base={base}
          mine={form}
          paths={changedPaths(filled, form)}
          onOverwrite={() => {
            setConflict(undefined);
            void submit(undefined, conflict.latest.version);
          }}
          onDiscard={() => {
            setForm(formFromJob(conflict.latest));
            setFilled(formFromJob(conflict.latest));
            setConflict(undefined);
          }}
        />
      ) : null}
      <form onSubmit={submit} class="form-grid" noValidate>
        <JobFields form={form} set={set} field={field} creating={!base} />
        <div class="wide">
          <ErrorBox error={error} onDismiss={() => setError(undefined)} />
        </div>
        <div class="actions wide">
          <button type="submit" class="primary" disabled={busy || !!conflict}>
            {base ? "Save changes" : "Create job"}
          </button>
          <a class="button" href={base ? href.job(base.jobId) : href.jobs()}>
            Cancel
          </a>
        </div>
      </form>
    </section>
  );
}

/** The form's inputs; `field` marks the one an InvalidArgument answer named. */
function JobFields({ form, set, field, creating }: { form: JobForm; set: (c: Partial<JobForm>) => void; field?: string; creating: boolean }) {
  return (
    <>
      <Field label="Name" name="name" field={field}>
        <input name="name" value={form.name} onInput={(e) => set({ name: e.currentTarget.value })} required placeholder="nightly-report" />
      </Field>
      <Field label="Tags" name="tags" field={field} hint="key=value, comma-separated.">
        <input name="tags" value={form.tags} onInput={(e) => set({ tags: e.currentTarget.value })} placeholder="team=billing, tier=1" />
      </Field>
      <Field label="Description" name="description" field={field} wide>
        <input name="description" value={form.description} onInput={(e) => set({ description: e.currentTarget.value })} />
      </Field>
      <ScheduleFields form={form} set={set} field={field} />
      <Field label="Target URL" name="target.url" field={field} hint="Called on every run. Leave empty to use a named handler." wide>
        <div class="row">
          <select name="method" value={form.method} onChange={(e) => set({ method: e.currentTarget.value })}>
            {["POST", "GET", "PUT", "PATCH", "DELETE"].map((m) => (
              <option key={m}>{m}</option>
            ))}
          </select>
          <input name="url" class="grow" value={form.url} onInput={(e) => set({ url: e.currentTarget.value })} placeholder="https://reports.internal/run" />
        </div>
      </Field>
      <Field label="Headers" name="target.headers" field={field} hint="One per line: Name: value (secret://name is resolved at run time).">
        <textarea name="headers" rows={3} value={form.headers} onInput={(e) => set({ headers: e.currentTarget.value })} />
      </Field>
      <Field label="Body" name="target.body" field={field}>
        <textarea name="body" rows={3} value={form.body} onInput={(e) => set({ body: e.currentTarget.value })} />
      </Field>
      <Field label="Handler" name="handler" field={field} hint="Instead of a URL: a target configured on the server (HANDLER_<NAME>_URL).">
        <input name="handler" value={form.handler} onInput={(e) => set({ handler: e.currentTarget.value })} />
      </Field>
      <Field label="Timeout (s)" name="target.timeout" field={field} hint="Per attempt; default 30.">
        <input name="timeout" inputMode="decimal" value={form.timeoutSeconds} onInput={(e) => set({ timeoutSeconds: e.currentTarget.value })} />
      </Field>
      <PolicyFields form={form} set={set} field={field} />
      {creating ? (
        <label class="check wide">
          <input type="checkbox" name="enabled" checked={form.enabled} onChange={(e) => set({ enabled: e.currentTarget.checked })} /> Active at once (otherwise
          created paused)
        </label>
      ) : null}
    </>
  );
}

interface FieldProps {
  label: string;
  /** The proto field path, matched against the field an InvalidArgument answer names. */
  name: string;
  field?: string;
  hint?: string;
  /** Spans both columns of the form. */
  wide?: boolean;
  children: ComponentChildren;
}

function Field({ label, name, field, hint, wide, children }: FieldProps) {
  const bad = field === name || (field !== undefined && field.startsWith(`${name}.`));
  return (
    <label class={`field ${bad ? "invalid" : ""} ${wide ? "wide" : ""}`} data-field={name}>
      <span class="field-label">{label}</span>
      {children}
      {hint ? <span class="hint">{hint}</span> : null}
    </label>
  );
}

function ScheduleFields({ form, set, field }: { form: JobForm; set: (c: Partial<JobForm>) => void; field?: string }) {
  const { api } = useConsole();
  const words = scheduleInWords(form.schedule);
  const [preview, setPreview] = useState<{ times?: number[]; error?: ShownError }>({});
  useEffect(() => {
    if (!form.schedule.trim()) return setPreview({});
    // Asked only once typing pauses: one PreviewSchedule per settled expression, not per key.
    const timer = setTimeout(() => {
      api.cron.previewSchedule({ schedule: form.schedule.trim(), timezone: form.timezone.trim() || "UTC", count: 3 }).then(
        (r) => setPreview({ times: r.times.map((t) => msOf(t)!) }),
        (err: unknown) => setPreview({ error: describeError(err) }),
      );
    }, 300);
    return () => clearTimeout(timer);
  }, [api, form.schedule, form.timezone]);
  return (
    <>
      <Field label="Schedule" name="schedule" field={field} hint="Cron: 5 fields, 6 with leading seconds, or @daily, @hourly…">
        <input name="schedule" class="mono" value={form.schedule} onInput={(e) => set({ schedule: e.currentTarget.value })} placeholder="30 2 * * 1-5" />
        <span class="schedule-help" data-testid="schedule-words">
          {words ? <strong>{words}</strong> : null}
          {preview.times?.length ? (
            <span class="muted"> · next: {preview.times.map((t) => formatTime(t, form.timezone || "UTC").slice(5)).join(", ")}</span>
          ) : null}
          {preview.error ? <span class="bad-text"> {preview.error.message}</span> : null}
        </span>
      </Field>
      <Field label="Time zone" name="timezone" field={field} hint="IANA name, e.g. Europe/Belgrade.">
        <input name="timezone" value={form.timezone} onInput={(e) => set({ timezone: e.currentTarget.value })} list="zones" />
        <datalist id="zones">
          {zones().map((z) => (
            <option key={z} value={z} />
          ))}
        </datalist>
      </Field>
    </>
  );
}

function zones(): string[] {
  const intl = Intl as typeof Intl & { supportedValuesOf?: (key: string) => string[] };
  return ["UTC", ...(intl.supportedValuesOf?.("timeZone") ?? [])];
}

function PolicyFields({ form, set, field }: { form: JobForm; set: (c: Partial<JobForm>) => void; field?: string }) {
  return (
    <div class="row wrap wide">
      <Field label="When a run is still running" name="concurrency_policy" field={field}>
        <select name="concurrency" value={form.concurrency} onChange={(e) => set({ concurrency: Number(e.currentTarget.value) })}>
          <option value={ConcurrencyPolicy.UNSPECIFIED}>default (forbid)</option>
          <option value={ConcurrencyPolicy.ALLOW}>allow overlap</option>
          <option value={ConcurrencyPolicy.FORBID}>forbid: skip the new slot</option>
          <option value={ConcurrencyPolicy.REPLACE}>replace the running run</option>
        </select>
      </Field>
      <Field label="Missed slots" name="misfire_policy" field={field}>
        <select name="misfire" value={form.misfire} onChange={(e) => set({ misfire: Number(e.currentTarget.value) })}>
          <option value={MisfirePolicy.UNSPECIFIED}>default (fire once)</option>
          <option value={MisfirePolicy.SKIP}>skip</option>
          <option value={MisfirePolicy.FIRE_ONCE}>fire once</option>
          <option value={MisfirePolicy.CATCH_UP}>catch up</option>
        </select>
      </Field>
      <Field label="Attempts" name="retry.max_attempts" field={field}>
        <input
          name="attempts"
          class="narrow"
          inputMode="numeric"
          value={form.maxAttempts}
          onInput={(e) => set({ maxAttempts: e.currentTarget.value })}
          placeholder="1"
        />
      </Field>
      <Field label="Retry on" name="retry.retry_on" field={field}>
        <select name="retryOn" value={form.retryOn} onChange={(e) => set({ retryOn: Number(e.currentTarget.value) })}>
          <option value={RetryOn.UNSPECIFIED}>default (failures)</option>
          <option value={RetryOn.NONE}>never</option>
          <option value={RetryOn.ON_FAILURE}>transient failures</option>
          <option value={RetryOn.ALWAYS}>any unsuccessful answer</option>
        </select>
      </Field>
    </div>
  );
}

interface ConflictProps {
  conflict: Conflict;
  base: Job;
  mine: JobForm;
  /** The fields the save writes. */
  paths: string[];
  onOverwrite(): void;
  onDiscard(): void;
}

/** The readable version conflict: who saved what since the form was opened, and the two ways on. */
function ConflictBox({ conflict, base, mine, paths, onOverwrite, onDiscard }: ConflictProps) {
  const { latest, version } = conflict;
  const yours = jobFromForm(mine);
  return (
    <div class="conflict" role="alert" data-testid="conflict">
      <strong>Not saved: this job changed while you were editing.</strong>
      <p>
        You started from v{String(base.version)}. It is now at v{String(latest.version)}
        {version ? (
          <>
            , saved by <b>{version.createdBy || "someone"}</b> <Time ms={msOf(version.createdAt)} /> ({version.reason || "update"})
          </>
        ) : null}
        . Their change:
      </p>
      <VersionDiff before={configText(base)} after={configText(latest)} labels={[`v${base.version} (where you started)`, `v${latest.version} (now)`]} />
      {"problem" in yours ? null : (
        <details>
          <summary>What your save would change on v{String(latest.version)}</summary>
          <VersionDiff before={configText(latest)} after={configText(mergeEdits(latest, yours.job, paths))} labels={[`v${latest.version}`, "yours"]} />
        </details>
      )}
      <div class="actions">
        <button type="button" class="danger" onClick={onOverwrite}>
          Save mine over v{String(latest.version)}
        </button>
        <button type="button" onClick={onDiscard}>
          Discard mine, load v{String(latest.version)}
        </button>
      </div>
    </div>
  );
}
