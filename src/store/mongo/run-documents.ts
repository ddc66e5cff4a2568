import { upgradeRun, type RunRecord } from "../../domain/run.js";

/**
 * A run as stored in `runs`: `_id` is the run id (sortable, so `_id` order is creation order);
 * times are epoch-ms numbers and undefined optional fields are absent.
 */
export type RunDocument = Omit<RunRecord, "runId"> & { _id: string };

/** The stored form of a run. */
export function toRunDocument({ runId, ...rest }: RunRecord): RunDocument {
  return { _id: runId, ...rest };
}

/** The run record of a stored document (a legacy state read in today's terms). */
export function fromRunDocument({ _id, ...rest }: RunDocument): RunRecord {
  return upgradeRun({ runId: _id, ...rest });
}

/** The key identifying a run's slot within all jobs. */
export function slotIdOf(run: Pick<RunRecord, "jobId" | "slotKey">): string {
  return JSON.stringify([run.jobId, run.slotKey]);
}

/** A run not final yet, as listed in `run_active`. */
export interface ActiveDocument {
  _id: string;
  jobId: string;
  /** Absent on references written by earlier versions (they finish soon after an upgrade). */
  projectId?: string;
  status: RunRecord["status"];
}

/** The `run_active` reference of a run. */
export function toActiveDocument(run: RunRecord): ActiveDocument {
  return { _id: run.runId, jobId: run.jobId, projectId: run.projectId, status: run.status };
}
