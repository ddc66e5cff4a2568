import type { HttpTargetSpec, JobSpec, TaskSpec } from "../../domain/job.js";

/**
 * One entry of a string map. Maps whose keys are user data (tags, HTTP headers) are stored as
 * arrays of entries, never as sub-documents: FerretDB rejects field names containing `.` or
 * starting with `$`, and a user key must never become a query path.
 */
export interface MapEntryDocument {
  key: string;
  value: string;
}

/** An HTTP target as stored: headers as entries. */
export type HttpTargetDocument = Omit<HttpTargetSpec, "headers"> & { headers: MapEntryDocument[] };

/** A DAG task as stored. */
export type TaskDocument = Omit<TaskSpec, "target"> & { target?: HttpTargetDocument };

/** A job spec as stored in jobs and job_versions. */
export type JobSpecDocument = Omit<JobSpec, "tags" | "target" | "tasks"> & {
  tags: MapEntryDocument[];
  target?: HttpTargetDocument;
  tasks: TaskDocument[];
};

/** A string map as entries, in insertion order. */
export function encodeMap(map: Record<string, string>): MapEntryDocument[] {
  return Object.entries(map).map(([key, value]) => ({ key, value }));
}

/** The string map of stored entries. */
export function decodeMap(entries: MapEntryDocument[]): Record<string, string> {
  return Object.fromEntries(entries.map((e) => [e.key, e.value]));
}

function encodeTarget(target: HttpTargetSpec): HttpTargetDocument {
  return { ...target, headers: encodeMap(target.headers) };
}

function decodeTarget(doc: HttpTargetDocument): HttpTargetSpec {
  return { ...doc, headers: decodeMap(doc.headers) };
}

function encodeTask({ target, ...task }: TaskSpec): TaskDocument {
  return target ? { ...task, target: encodeTarget(target) } : task;
}

function decodeTask({ target, ...task }: TaskDocument): TaskSpec {
  return target ? { ...task, target: decodeTarget(target) } : task;
}

/** The stored form of a spec. Undefined optional fields are left out by the client. */
export function encodeSpec({ tags, target, tasks, ...rest }: JobSpec): JobSpecDocument {
  const doc: JobSpecDocument = { ...rest, tags: encodeMap(tags), tasks: tasks.map(encodeTask) };
  if (target) doc.target = encodeTarget(target);
  return doc;
}

/** The spec of a stored document; absent optional fields stay absent. */
export function decodeSpec({ tags, target, tasks, ...rest }: JobSpecDocument): JobSpec {
  const spec: JobSpec = { ...rest, tags: decodeMap(tags), tasks: tasks.map(decodeTask) };
  if (target) spec.target = decodeTarget(target);
  return spec;
}
