import type { MongoCollections } from "./collections.js";

/**
 * Creates every index the store relies on. Idempotent: existing indexes with the same name and
 * keys are left alone. Only plain and unique compound indexes are used (FerretDB has no partial
 * or TTL indexes).
 */
export async function ensureIndexes(c: MongoCollections): Promise<void> {
  await c.jobs.createIndexes([
    { key: { status: 1, nextTriggerAt: 1 }, name: "status_nextTriggerAt" },
    { key: { "spec.projectId": 1, _id: 1 }, name: "projectId_id" },
  ]);
  await c.jobVersions.createIndexes([{ key: { jobId: 1, version: 1 }, name: "jobId_version", unique: true }]);
  await c.runs.createIndexes([
    { key: { jobId: 1, slotKey: 1 }, name: "jobId_slotKey", unique: true },
    { key: { jobId: 1, _id: 1 }, name: "jobId_id" },
    { key: { status: 1, _id: 1 }, name: "status_id" },
    { key: { projectId: 1, _id: 1 }, name: "projectId_id" },
  ]);
}
