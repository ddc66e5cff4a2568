import { clone, create, toJson, type DescMessage } from "@bufbuild/protobuf";
import { durationFromMs, durationMs } from "@bufbuild/protobuf/wkt";
import { ConcurrencyPolicy, JobSchema, MisfirePolicy, RetryOn, type Job } from "../../../gen/cronmesh/v1/job_pb.js";

/** The job form's fields, as the inputs hold them (strings, and enum numbers for the selects). */
export interface JobForm {
  name: string;
  description: string;
  schedule: string;
  timezone: string;
  /** Target URL; empty when the job calls a named handler. */
  url: string;
  method: string;
  /** One `Name: value` per line. */
  headers: string;
  body: string;
  /** Per-attempt timeout in seconds; empty for the server default. */
  timeoutSeconds: string;
  handler: string;
  concurrency: ConcurrencyPolicy;
  misfire: MisfirePolicy;
  /** Attempts in all; empty for the server default. */
  maxAttempts: string;
  retryOn: RetryOn;
  /** `key=value` pairs separated by commas. */
  tags: string;
  /** Create only: start paused when false. */
  enabled: boolean;
}

/** The proto field each form input edits (an update mask path). */
const FORM_PATHS: Record<Exclude<keyof JobForm, "enabled">, string> = {
  name: "name",
  description: "description",
  schedule: "schedule",
  timezone: "timezone",
  tags: "tags",
  handler: "handler",
  concurrency: "concurrency_policy",
  misfire: "misfire_policy",
  url: "target.url",
  method: "target.method",
  headers: "target.headers",
  body: "target.body",
  timeoutSeconds: "target.timeout",
  maxAttempts: "retry.max_attempts",
  retryOn: "retry.retry_on",
};

/**
 * The update mask of an edit: the fields whose inputs changed since the form was filled. Fields
 * left alone are not sent, so a concurrent change to them is never written back over.
 */
export function changedPaths(before: JobForm, after: JobForm): string[] {
  return (Object.keys(FORM_PATHS) as (keyof typeof FORM_PATHS)[]).filter((k) => before[k] !== after[k]).map((k) => FORM_PATHS[k]);
}

/**
 * `stored` with the fields named by `paths` (proto names, one level of nesting) taken from `edit`:
 * what the server's field mask makes of an update, for showing it before it is sent.
 */
export function mergeEdits(stored: Job, edit: Job, paths: readonly string[]): Job {
  const out = clone(JobSchema, stored);
  for (const path of paths) {
    const [head, sub] = path.split(".");
    const field = JobSchema.fields.find((f) => f.name === head);
    if (!field) continue;
    const target = out as unknown as Record<string, unknown>;
    const source = edit as unknown as Record<string, unknown>;
    if (sub === undefined || field.fieldKind !== "message") {
      target[field.localName] = source[field.localName];
      continue;
    }
    const inner = field.message.fields.find((f) => f.name === sub);
    if (!inner) continue;
    target[field.localName] ??= create(field.message as DescMessage);
    (target[field.localName] as Record<string, unknown>)[inner.localName] = (source[field.localName] as Record<string, unknown> | undefined)?.[inner.localName];
  }
  return out;
}

/** A blank form for a new job. */
export function emptyForm(): JobForm {
  return {
    name: "",
    description: "",
    schedule: "",
    timezone: "UTC",
    url: "",
    method: "POST",
    headers: "",
    body: "",
    timeoutSeconds: "",
    handler: "",
    concurrency: ConcurrencyPolicy.UNSPECIFIED,
    misfire: MisfirePolicy.UNSPECIFIED,
    maxAttempts: "",
    retryOn: RetryOn.UNSPECIFIED,
    tags: "",
    enabled: true,
  };
}

/** The form showing a stored job. */
export function formFromJob(job: Job): JobForm {
  const t = job.target;
  return {
    name: job.name,
    description: job.description,
    schedule: job.schedule,
    timezone: job.timezone || "UTC",
    url: t?.url ?? "",
    method: t?.method || "POST",
    headers: Object.entries(t?.headers ?? {})
      .map(([k, v]) => `${k}: ${v}`)
      .join("\n"),
    body: t?.body ?? "",
    timeoutSeconds: t?.timeout ? String(durationMs(t.timeout) / 1000) : "",
    handler: job.handler,
    concurrency: job.concurrencyPolicy,
    misfire: job.misfirePolicy,
    maxAttempts: job.retry?.maxAttempts ? String(job.retry.maxAttempts) : "",
    retryOn: job.retry?.retryOn ?? RetryOn.UNSPECIFIED,
    tags: Object.entries(job.tags)
      .map(([k, v]) => (v ? `${k}=${v}` : k))
      .join(", "),
    enabled: job.enabled ?? true,
  };
}

/** A form value that cannot be sent, named by its proto field like the server's errors. */
export interface FormProblem {
  field: string;
  message: string;
}

/**
 * The Job a form describes. Text is passed on as typed (the server validates and names the field
 * at fault); only what cannot be sent at all is refused here.
 */
export function jobFromForm(form: JobForm): { job: Job } | { problem: FormProblem } {
  const headers = parseHeaders(form.headers);
  if ("problem" in headers) return headers;
  const timeout = numberField(form.timeoutSeconds, "target.timeout", "must be a number of seconds");
  if (typeof timeout === "object") return timeout;
  const attempts = numberField(form.maxAttempts, "retry.max_attempts", "must be a whole number");
  if (typeof attempts === "object") return attempts;
  const job = create(JobSchema, {
    name: form.name.trim(),
    description: form.description,
    schedule: form.schedule.trim(),
    timezone: form.timezone.trim(),
    tags: parseTags(form.tags),
    handler: form.handler.trim(),
    target:
      form.url.trim() || !form.handler.trim()
        ? {
            url: form.url.trim(),
            method: form.method,
            headers: headers.headers,
            body: form.body,
            timeout: timeout === undefined ? undefined : durationFromMs(timeout * 1000),
          }
        : undefined,
    concurrencyPolicy: form.concurrency,
    misfirePolicy: form.misfire,
    retry: { maxAttempts: attempts ?? 0, retryOn: form.retryOn },
    enabled: form.enabled,
  });
  return { job };
}

function numberField(raw: string, field: string, message: string): number | undefined | { problem: FormProblem } {
  if (raw.trim() === "") return undefined;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : { problem: { field, message } };
}

/** `Name: value` lines into a header map; a line without a colon is refused naming target.headers. */
export function parseHeaders(text: string): { headers: Record<string, string> } | { problem: FormProblem } {
  const headers: Record<string, string> = {};
  for (const line of text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)) {
    const colon = line.indexOf(":");
    if (colon <= 0) return { problem: { field: "target.headers", message: `expected "Name: value", got ${JSON.stringify(line)}` } };
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return { headers };
}

/** `a=1, b` into `{a: "1", b: ""}`. */
export function parseTags(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = pair.indexOf("=");
    if (eq < 0) out[pair] = "";
    else out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
}

/** Output-only fields: they change on every write and say nothing about the configuration. */
const OUTPUT_ONLY = [
  "job_id",
  "version",
  "created_at",
  "created_by",
  "updated_at",
  "updated_by",
  "next_trigger_at",
  "last_triggered_at",
  "last_run_duration_ms",
  "run_count",
  "fail_count",
  "lock_acquired",
  "skipped_count",
  "dropped_count",
];

/** A job's configuration as stable, indented JSON (proto field names, output-only fields left out), for diffs. */
export function configText(job: Job | undefined): string {
  if (!job) return "";
  const json = toJson(JobSchema, job, { useProtoFieldName: true }) as Record<string, unknown>;
  for (const key of OUTPUT_ONLY) delete json[key];
  return JSON.stringify(json, null, 2);
}
