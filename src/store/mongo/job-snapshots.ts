import type { JobVersionRecord } from "../../domain/job.js";
import type { MongoCollections } from "./collections.js";
import { toVersionDocument } from "./job-documents.js";
import { duplicateIndexesOf } from "./mongo-errors.js";

/**
 * Inserts snapshots that are not stored yet, in one round trip. Snapshots are immutable and
 * unique on (jobId, version), so an existing one is simply kept (its duplicate-key error ignored).
 */
export async function writeSnapshots(c: MongoCollections, snapshots: JobVersionRecord[]): Promise<void> {
  try {
    await c.jobVersions.insertMany(snapshots.map(toVersionDocument), { ordered: false });
  } catch (err) {
    duplicateIndexesOf(err);
  }
}
