import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { JobSchema, type Job } from "../../gen/cronmesh/v1/job_pb.js";
import { CronError } from "../domain/cron-error.js";
import type { ApiClients } from "./client.js";
import { jobToData, parseJobYaml } from "./job-file.js";
import { toYaml } from "./proto-yaml.js";

/** Opens a file in an editor and resolves once the editor has exited; rejects when it failed. */
export type Editor = (file: string) => Promise<void>;

/** What `edit` did to the job. */
export interface EditResult {
  action: "updated" | "unchanged";
  job: Job;
}

/** Wraps a path in single quotes for a POSIX shell. */
function shellQuoted(path: string): string {
  return `'${path.replace(/'/g, `'\\''`)}'`;
}

/**
 * The editor named by $VISUAL, else $EDITOR (either may carry arguments, e.g. "code --wait"),
 * else vi, run through the shell on the terminal of this process.
 *
 * Not spawnSync: the event loop must keep running while a person edits, or the close of the
 * connection the server drops after its idle timeout goes unseen, and the update is then written
 * to the dead socket (EPIPE).
 */
export function systemEditor(env: NodeJS.ProcessEnv): Editor {
  const command = env.VISUAL || env.EDITOR || "vi";
  const failed = (problem: string) => new CronError("failed_precondition", `the editor ${JSON.stringify(command)} ${problem}`);
  return (file) =>
    new Promise((resolve, reject) => {
      const child = spawn(`${command} ${shellQuoted(file)}`, { shell: true, stdio: "inherit" });
      child.once("error", (err) => reject(failed(`could not start: ${err.message}`)));
      child.once("exit", (code, signal) => (code === 0 ? resolve() : reject(failed(`exited with ${code ?? signal}`))));
    });
}

function header(job: Job): string {
  return [
    `# Editing job ${job.jobId} at version ${job.version}. Save and quit to apply your changes;`,
    "# quit without a change, or empty the file, to leave the job as it is. Fields you delete are",
    "# cleared. If someone changes the job before you save, your changes are not applied.",
    "",
  ].join("\n");
}

/** Top-level fields whose value differs between two job files' data. */
function changedFields(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => !isDeepStrictEqual(before[k], after[k]));
}

/**
 * Lets a person edit a job as YAML (job file form) and applies what they changed: the fields they
 * changed (removed ones are cleared), checked against the version they edited, so a change made
 * meanwhile by someone else is refused (Aborted) rather than overwritten. When the edit cannot
 * be applied, the edited file is kept and the error says where.
 */
export async function editJob(clients: ApiClients, jobId: string, editor: Editor): Promise<EditResult> {
  const { job: current } = await clients.cron.getJob({ jobId });
  const before = jobToData(current!);
  const dir = mkdtempSync(join(tmpdir(), "cronmesh-edit-"));
  const file = join(dir, `${jobId}.yaml`);
  writeFileSync(file, header(current!) + toYaml(before));
  await editor(file);
  try {
    const result = await applyEdit(clients, current!, before, readFileSync(file, "utf8"), file);
    rmSync(dir, { recursive: true, force: true });
    return result;
  } catch (err) {
    throw keptIn(err, file, jobId);
  }
}

async function applyEdit(clients: ApiClients, current: Job, before: Record<string, unknown>, text: string, file: string): Promise<EditResult> {
  if (!text.replace(/^\s*#.*$/gm, "").trim()) return { action: "unchanged", job: current };
  const edited = parseJobYaml(text, file);
  const paths = changedFields(before, jobToData(edited));
  const fixed = paths.find((p) => p === "job_id" || p === "version");
  if (fixed) throw CronError.invalid(fixed, "names the job and version you edit; it cannot change here");
  if (paths.length === 0) return { action: "unchanged", job: current };
  const job = create(JobSchema, { ...edited, jobId: current.jobId, version: current.version });
  const res = await clients.cron.updateJob({ job, updateMask: { paths } });
  return { action: "updated", job: res.job! };
}

/** The error of a failed edit, saying where the edit is kept (and, for a conflict, what happened). */
function keptIn(err: unknown, file: string, jobId: string): unknown {
  const kept = `your edit is saved in ${file}`;
  if (err instanceof CronError) return new CronError(err.code, `${err.message}; ${kept}`, err.field);
  const connect = ConnectError.from(err);
  const message =
    connect.code === Code.Aborted
      ? `job ${jobId} changed since you opened it (${connect.rawMessage}); your edit was not applied and is saved in ${file}: run cronmesh jobs edit ${jobId} again`
      : `${connect.rawMessage}; ${kept}`;
  return new ConnectError(message, connect.code, connect.metadata);
}
