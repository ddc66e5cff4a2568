import { CronError } from "./cron-error.js";
import { JOB_DEFAULTS } from "./job-validation.js";

/** The project of a caller who may act on every project (an admin, or anyone without authentication). */
export const ALL_PROJECTS = "*";

/**
 * The project a new job belongs to: the caller's own, always, for a caller confined to one
 * project — a body naming another project is refused, never honoured; for a caller of every
 * project, the one the body names, else the default project.
 */
export function projectOfNewJob(callerProject: string, requested: string): string {
  if (callerProject === ALL_PROJECTS) return requested || JOB_DEFAULTS.projectId;
  if (requested && requested !== callerProject) {
    throw new CronError("permission_denied", `you may create jobs in project ${callerProject} only, not ${requested}`, "project_id");
  }
  return callerProject;
}

/** Whether a caller of `callerProject` may see a record of `project`. */
export function inProject(callerProject: string, project: string): boolean {
  return callerProject === ALL_PROJECTS || callerProject === project;
}

/**
 * The project a listing or a stream is confined to: the caller's own for a caller of one project
 * (a filter naming another project is refused), else the one the filter names, if any
 * (undefined: every project).
 */
export function projectOfQuery(callerProject: string, requested: string | undefined): string | undefined {
  if (callerProject === ALL_PROJECTS) return requested || undefined;
  if (requested && requested !== callerProject) {
    throw new CronError("permission_denied", `you may see project ${callerProject} only, not ${requested}`, "project_id");
  }
  return callerProject;
}
