import { MongoClient } from "mongodb";
import type { Store } from "../store.js";
import { collectionsOf } from "./collections.js";
import { ensureIndexes } from "./indexes.js";
import { jobOperations } from "./job-operations.js";
import { versionOperations } from "./job-versions.js";
import { toCronError } from "./mongo-errors.js";
import { runOperations } from "./run-operations.js";
import { schedulingOperations } from "./scheduling.js";

/** Where the MongoDB store keeps its data. */
export interface MongoStoreOptions {
  /** MongoDB connection string (MongoDB 6/7 or FerretDB); driver options may ride in it. */
  uri: string;
  /** The database holding the cronmesh collections. */
  dbName: string;
}

/**
 * The Store adapter on MongoDB and FerretDB. No transactions, change streams, TTL or partial
 * indexes: every write is idempotent (unique indexes) or a compare-and-set on one document.
 * The client connects lazily; `init()` creates the indexes. Errors surface as CronErrors.
 *
 * Caveat: FerretDB v1 (SQLite) applies an update as "query, then rewrite the document by _id",
 * so its compare-and-sets are atomic only because this store serialises writes per document
 * in-process. Several cronmesh processes writing the same document through FerretDB can still
 * race; on MongoDB every compare-and-set is atomic across processes.
 */
export function createMongoStore(options: MongoStoreOptions): Store {
  const client = connect(options.uri);
  const collections = collectionsOf(client.db(options.dbName));
  return guardAll({
    init: () => ensureIndexes(collections),
    close: () => client.close(),
    ...jobOperations(collections),
    ...versionOperations(collections),
    ...schedulingOperations(collections),
    ...runOperations(collections),
  });
}

/** A lazily connecting client; an unparsable URI is reported as a CronError. */
function connect(uri: string): MongoClient {
  try {
    // ignoreUndefined: an undefined optional field is stored as absent, and read back as undefined.
    return new MongoClient(uri, { ignoreUndefined: true });
  } catch (err) {
    throw toCronError(err);
  }
}

/** Wraps every method so that whatever it throws reaches the caller as a CronError. */
function guardAll(store: Store): Store {
  const guarded: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(store) as [string, (...args: unknown[]) => Promise<unknown>][]) {
    guarded[name] = async (...args: unknown[]) => {
      try {
        return await method(...args);
      } catch (err) {
        throw toCronError(err);
      }
    };
  }
  return guarded as unknown as Store;
}
