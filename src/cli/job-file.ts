import { isFieldSet } from "@bufbuild/protobuf";
import { JobSchema, type Job } from "../../gen/cronmesh/v1/job_pb.js";
import type { JsonObject } from "../api/json-input.js";
import { OUTPUT_ONLY_JOB_FIELDS } from "../api/job-fields.js";
import { messageToData, parseMessageYaml, toYaml } from "./proto-yaml.js";

/** Fields a job file names the job by; kept (first) in the file, though the server sets them. */
const IDENTITY = ["job_id", "version"] as const;
/** Fields that say the same as `status` (`enabled`) or are set by pause and resume (`pause_note`). */
const NOT_EDITED = new Set(["enabled", "pause_note"]);

/** Reads a job file (YAML; see {@link parseMessageYaml} for its forms). */
export function parseJobYaml(text: string, source: string): Job {
  return parseMessageYaml(JobSchema, text, source);
}

/**
 * The job as a job file holds it: job_id and version first, then every field a caller may set
 * (proto order; zero values left out). Output-only fields, `enabled` and `pause_note` are left out.
 */
export function jobToData(job: Job): JsonObject {
  const data = messageToData(JobSchema, job);
  const out: JsonObject = {};
  for (const key of IDENTITY) if (data[key] !== undefined) out[key] = data[key];
  for (const [key, value] of Object.entries(data)) {
    if (!OUTPUT_ONLY_JOB_FIELDS.has(key) && !NOT_EDITED.has(key)) out[key] = value;
  }
  return out;
}

/** The job file text of a job. */
export function jobToYaml(job: Job): string {
  return toYaml(jobToData(job));
}

/** Fields that change only when a job file names them: the project and the status. */
const KEPT_UNLESS_NAMED = new Set(["project_id", "status", "enabled"]);

/**
 * The top-level fields (proto names) an update sets to make a job match a job file: every field a
 * caller may set, so that a field left out of the file is cleared, except the project and the
 * status (`status`, `enabled`), which change only when the file sets them.
 */
export function replacedFields(file: Job): string[] {
  return JobSchema.fields
    .filter((f) => !OUTPUT_ONLY_JOB_FIELDS.has(f.name) && f.name !== "pause_note")
    .filter((f) => !KEPT_UNLESS_NAMED.has(f.name) || isFieldSet(file, f))
    .map((f) => f.name);
}
