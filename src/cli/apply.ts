import { createOutboundPolicy } from "../domain/outbound-policy.js";
import { clone, create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { isDeepStrictEqual } from "node:util";
import { JobSchema, JobStatus, type Job } from "../../gen/cronmesh/v1/job_pb.js";
import { specFromProto } from "../api/job-mapper.js";
import { CronError } from "../domain/cron-error.js";
import { JOB_DEFAULTS, normalizeSpec } from "../domain/job-validation.js";
import type { ApiClients } from "./client.js";
import { replacedFields } from "./job-file.js";

/** What `apply` did to the job. */
export type ApplyAction = "created" | "updated" | "unchanged";

/** The outcome of {@link applyJob}: what was done, and the job as it now is. */
export interface ApplyResult {
  action: ApplyAction;
  job: Job;
}

/** Jobs listed per page when looking a job up by name: the API's largest page. */
const PAGE_SIZE = 1000;
/** Pages read at most: a name matches few jobs, and a loop over a remote list must end. */
const MAX_PAGES = 100;

/**
 * Makes the server's job match a job file: creates it when it does not exist, else updates every
 * field the file may set (see {@link replacedFields}), checking the version (the file's, else the
 * one just read), or leaves it alone when nothing would change. The job is found by the file's
 * job_id, else by its name within its project.
 */
export async function applyJob(clients: ApiClients, file: Job): Promise<ApplyResult> {
  const current = await findJob(clients, file);
  if (!current) return { action: "created", job: (await clients.cron.createJob({ job: file })).job! };
  const paths = replacedFields(file);
  if (sameJob(current, file, paths)) return { action: "unchanged", job: current };
  const job = create(JobSchema, { ...file, jobId: current.jobId, version: file.version || current.version });
  const res = await clients.cron.updateJob({ job, updateMask: { paths } });
  return { action: "updated", job: res.job! };
}

/** The job a file describes: by job_id, else by name in the file's project (or the caller's). */
async function findJob(clients: ApiClients, file: Job): Promise<Job | undefined> {
  if (file.jobId) {
    try {
      return (await clients.cron.getJob({ jobId: file.jobId })).job;
    } catch (err) {
      if (ConnectError.from(err).code === Code.NotFound) return undefined;
      throw err;
    }
  }
  if (!file.name) return undefined;
  const projectId = file.projectId || (await callerProject(clients));
  const named = await jobsNamed(clients, file.name, projectId);
  if (named.length > 1) {
    throw new CronError(
      "failed_precondition",
      `${named.length} jobs are named ${JSON.stringify(file.name)} in project ${projectId} (${named.map((j) => j.jobId).join(", ")}); put the job_id of one in the file`,
    );
  }
  return named[0];
}

/** The project a job created without one lands in: the caller's, or the server's default. */
async function callerProject(clients: ApiClients): Promise<string> {
  const me = await clients.cron.getWhoAmI({});
  return me.projectId && me.projectId !== "*" ? me.projectId : JOB_DEFAULTS.projectId;
}

async function jobsNamed(clients: ApiClients, name: string, projectId: string): Promise<Job[]> {
  const found: Job[] = [];
  let pageToken = "";
  for (let page = 0; page < MAX_PAGES; page++) {
    const res = await clients.cron.listJobs({ text: name, projectId, pageSize: PAGE_SIZE, pageToken });
    found.push(...res.data.filter((j) => j.name === name && j.projectId === projectId));
    pageToken = res.nextPageToken;
    if (!pageToken) break;
  }
  return found;
}

/**
 * Whether updating `paths` from the file would leave the job as it is: both sides are compared
 * after the server's own normalisation (defaults filled in, the schedule made canonical). A file
 * the server would refuse counts as a change, so that the server's answer names the field.
 */
/** Outbound rules do not change what a job is: the default policy normalises both sides alike. */
const OUTBOUND = createOutboundPolicy();

function sameJob(current: Job, file: Job, paths: string[]): boolean {
  const merged = clone(JobSchema, current);
  for (const f of JobSchema.fields.filter((field) => paths.includes(field.name))) {
    (merged as Record<string, unknown>)[f.localName] = (file as Record<string, unknown>)[f.localName];
  }
  try {
    return (
      isDeepStrictEqual(normalizeSpec(specFromProto(merged), OUTBOUND), normalizeSpec(specFromProto(current), OUTBOUND)) && sameStatus(current, file, paths)
    );
  } catch {
    return false;
  }
}

function sameStatus(current: Job, file: Job, paths: string[]): boolean {
  if (paths.includes("status") && file.status !== JobStatus.UNSPECIFIED && file.status !== current.status) return false;
  if (paths.includes("enabled") && file.enabled !== undefined && file.enabled !== (current.status === JobStatus.ACTIVE)) return false;
  return true;
}
