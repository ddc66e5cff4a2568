import type { Collection, Document, IndexDescription } from "mongodb";
import type { MongoCollections } from "./collections.js";

/**
 * `jobs`: listings by project, status, tag (`tagIndex`, one entry per key and per key=value) and
 * creator, in id order; and the recent changes the due queries' repair sweep reads.
 */
const JOB_INDEXES: IndexDescription[] = [
  { key: { "spec.projectId": 1, _id: 1 }, name: "projectId_id" },
  { key: { status: 1, _id: 1 }, name: "status_id" },
  { key: { tagIndex: 1, _id: 1 }, name: "tagIndex_id" },
  { key: { createdBy: 1, _id: 1 }, name: "createdBy_id" },
  { key: { updatedAt: 1 }, name: "updatedAt" },
];
const VERSION_INDEXES: IndexDescription[] = [{ key: { jobId: 1, version: 1 }, name: "jobId_version", unique: true }];
/** `runs`: the slot registry, listings by job or project, and the repair of recent inserts. */
const RUN_INDEXES: IndexDescription[] = [
  { key: { jobId: 1, slotKey: 1 }, name: "jobId_slotKey", unique: true },
  { key: { jobId: 1, _id: 1 }, name: "jobId_id" },
  { key: { projectId: 1, _id: 1 }, name: "projectId_id" },
  { key: { createdAt: 1 }, name: "createdAt" },
];
/** `run_active` and `run_finals`: listings by status (the dead-letter queue) and by job. */
const STATE_INDEXES: IndexDescription[] = [
  { key: { status: 1, _id: 1 }, name: "status_id" },
  { key: { jobId: 1, _id: 1 }, name: "jobId_id" },
];
const SCHEDULE_INDEXES: IndexDescription[] = [{ key: { status: 1, nextTriggerAt: 1 }, name: "status_nextTriggerAt" }];
const STATS_INDEXES: IndexDescription[] = [{ key: { shard: 1 }, name: "shard" }];

/**
 * Creates every index the store relies on. Idempotent: indexes that already exist (by name) are
 * not sent again — FerretDB v1 drops the connection when asked to create an index that exists,
 * which would make every restart fail. Only plain and unique compound indexes are used (FerretDB
 * has no partial or TTL indexes).
 */
export async function ensureIndexes(c: MongoCollections): Promise<void> {
  await createMissing(c.jobs, JOB_INDEXES);
  await createMissing(c.jobVersions, VERSION_INDEXES);
  await createMissing(c.runs, RUN_INDEXES);
  await createMissing(c.runActive, STATE_INDEXES);
  await createMissing(c.runFinals, STATE_INDEXES);
  await createMissing(c.jobStats, STATS_INDEXES);
  await createMissing(c.jobSchedule, SCHEDULE_INDEXES);
}

async function createMissing<T extends Document>(collection: Collection<T>, wanted: IndexDescription[]): Promise<void> {
  const existing = await existingIndexNames(collection);
  const missing = wanted.filter((i) => !existing.has(i.name!));
  if (missing.length > 0) await collection.createIndexes(missing);
}

async function existingIndexNames<T extends Document>(collection: Collection<T>): Promise<Set<string>> {
  try {
    const indexes = await collection.listIndexes().toArray();
    return new Set(indexes.map((i) => String(i.name)));
  } catch (err) {
    // A collection that does not exist yet has no indexes (NamespaceNotFound, code 26).
    if ((err as { code?: number }).code === 26) return new Set();
    throw err;
  }
}
