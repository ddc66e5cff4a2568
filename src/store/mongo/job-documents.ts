import type { UpdateFilter } from "mongodb";
import type { JobRecord, JobVersionRecord } from "../../domain/job.js";
import { decodeSpec, encodeSpec, type JobSpecDocument, type MapEntryDocument } from "./spec-documents.js";

/**
 * A job as stored in `jobs`: `_id` is the job id, times are epoch-ms numbers, and an undefined
 * `nextTriggerAt` is an absent field. `tagIndex` is derived from the tags for filtering.
 */
export type JobDocument = Omit<JobRecord, "jobId" | "spec"> & {
  _id: string;
  spec: JobSpecDocument;
  tagIndex: string[];
};

/** A version snapshot as stored in `job_versions` (the `_id` is generated). */
export type JobVersionDocument = Omit<JobVersionRecord, "spec"> & { spec: JobSpecDocument };

/** `tagIndex` entry matching a job that carries the tag `key`, whatever its value. */
export function tagKeyEntry(key: string): string {
  return `k:${key}`;
}

/** `tagIndex` entry matching a job whose tag `key` equals `value`. */
export function tagValueEntry(key: string, value: string): string {
  return `t:${key}=${value}`;
}

/** The `tagIndex` of stored tags: one key entry and one key=value entry per tag. */
export function tagIndexOf(tags: MapEntryDocument[]): string[] {
  return tags.flatMap(({ key, value }) => [tagKeyEntry(key), tagValueEntry(key, value)]);
}

/** The stored form of a job record. */
export function toJobDocument({ jobId, spec, ...rest }: JobRecord): JobDocument {
  const stored = encodeSpec(spec);
  return { _id: jobId, ...rest, spec: stored, tagIndex: tagIndexOf(stored.tags) };
}

/** The job record of a stored document. */
export function fromJobDocument({ _id, spec, tagIndex: _tagIndex, ...rest }: JobDocument): JobRecord {
  return { jobId: _id, ...rest, spec: decodeSpec(spec) };
}

/** The stored form of a version snapshot. */
export function toVersionDocument({ spec, ...rest }: JobVersionRecord): JobVersionDocument {
  return { ...rest, spec: encodeSpec(spec) };
}

/** The version snapshot of a stored document (with whatever `_id` the server gave it). */
export function fromVersionDocument({ _id, spec, ...rest }: JobVersionDocument & { _id?: unknown }): JobVersionRecord {
  return { ...rest, spec: decodeSpec(spec) };
}

/**
 * The update writing a new version to a job: spec, state and the audit fields of the version.
 * Counters and creation fields are left alone; an undefined `nextTriggerAt` is unset.
 */
export function jobUpdateOf(job: JobRecord): UpdateFilter<JobDocument> {
  const spec = encodeSpec(job.spec);
  const set: Partial<JobDocument> = {
    spec,
    tagIndex: tagIndexOf(spec.tags),
    status: job.status,
    pauseNote: job.pauseNote,
    version: job.version,
    updatedAt: job.updatedAt,
    updatedBy: job.updatedBy,
    changeReason: job.changeReason,
  };
  if (job.nextTriggerAt === undefined) return { $set: set, $unset: { nextTriggerAt: "" } };
  return { $set: { ...set, nextTriggerAt: job.nextTriggerAt } };
}
