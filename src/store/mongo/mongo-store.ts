import { MongoClient, MongoServerSelectionError } from "mongodb";
import type { CronError } from "../../domain/cron-error.js";
import type { Store } from "../store.js";
import { collectionsOf } from "./collections.js";
import { ensureIndexes } from "./indexes.js";
import { jobOperations } from "./job-operations.js";
import { createJobStatsBook } from "./job-stats.js";
import { versionOperations } from "./job-versions.js";
import { toCronError } from "./mongo-errors.js";
import { createClientHealth } from "./client-health.js";
import { runOperations, upgradeDeadLettered } from "./run-operations.js";
import { schedulingOperations } from "./scheduler-operations.js";

/** Where the MongoDB store keeps its data. */
export interface MongoStoreOptions {
  /** MongoDB connection string (MongoDB 6/7 or FerretDB); driver options may ride in it. */
  uri: string;
  /** The database holding the cronmesh collections. */
  dbName: string;
  /** This replica's id: names the run-counter documents this store instance owns. */
  nodeId: string;
  /** Wall clock of the counter documents and of the repair sweeps (defaults to Date.now). */
  now?: () => number;
  /** How long calls fail for want of the server, none answered, before the client is replaced (default REPLACE_CLIENT_AFTER_MS). */
  replaceClientAfterMs?: number;
  /** Told when the client was replaced, with how long its calls had been failing. */
  onClientReplaced?: (failingForMs: number) => void;
}

/**
 * Deadline of a ping: a readiness probe must answer fast, and the client would otherwise hold the
 * call for its server-selection timeout (5 s) while the server is away.
 */
const PING_TIMEOUT_MS = 2000;

/** Counter documents of instances silent this long are folded at start-up (ten minutes: far beyond any flush interval). */
const STATS_STALE_MS = 600_000;

/**
 * The Store adapter on MongoDB and FerretDB. No transactions, change streams, TTL or partial
 * indexes: every write is idempotent (unique indexes) or a compare-and-set on one document.
 * The client connects lazily; `init()` creates the indexes. Errors surface as CronErrors.
 *
 * Built for FerretDB's cost model as much as MongoDB's: FerretDB v1 (SQLite) serves every query
 * but an exact `_id` match by scanning its collection, and applies an update as "query, then
 * rewrite the document by _id". So the hot path is batched inserts (runs are created, and
 * finished, by inserting), updates touch small collections or are grouped into one `updateMany`,
 * and every decision between processes is made by a unique index, never by an update. Within one
 * process, writes to one document are serialised (FerretDB's updates are not atomic); on MongoDB
 * every compare-and-set is atomic across processes too.
 */
export function createMongoStore(options: MongoStoreOptions): Store {
  let client = connect(options.uri);
  // Operations read their collections from this object at each call: a new client swaps them in place.
  const collections = collectionsOf(client.db(options.dbName));
  const now = options.now ?? Date.now;
  const stats = createJobStatsBook(collections, options.nodeId, now);
  const health = createClientHealth(Date.now, options.replaceClientAfterMs);
  const replaceClient = (failingForMs: number) => {
    const old = client;
    client = connect(options.uri);
    Object.assign(collections, collectionsOf(client.db(options.dbName)), { lock: collections.lock });
    // Calls still on the old client fail as they would have: it was failing them all.
    void old.close().catch(() => undefined);
    options.onClientReplaced?.(failingForMs);
  };
  const outcome = (err: CronError | undefined) => {
    if (err?.code !== "unavailable") return health.answered();
    const failingForMs = health.unavailable();
    if (failingForMs !== undefined) replaceClient(failingForMs);
  };
  return guardAll(outcome, {
    init: async () => {
      await ensureIndexes(collections);
      await stats.fold(STATS_STALE_MS);
      await upgradeDeadLettered(collections);
    },
    close: () => client.close(),
    ping: async () => void (await client.db(options.dbName).command({ ping: 1 }, { timeoutMS: PING_TIMEOUT_MS })),
    ...jobOperations(collections, stats),
    ...versionOperations(collections),
    ...schedulingOperations(collections, stats, now),
    ...runOperations(collections),
  });
}

/** Longest a call waits for the server's answer (see `connect`). */
const SOCKET_TIMEOUT_MS = 60_000;

/** A lazily connecting client; an unparsable URI is reported as a CronError. */
function connect(uri: string): MongoClient {
  try {
    // ignoreUndefined: an undefined optional field is stored as absent, and read back as undefined.
    // serverSelectionTimeoutMS: an unreachable database fails calls within seconds (callers retry)
    // instead of holding them for the driver's default 30 s. heartbeatFrequencyMS: a restarted
    // server is noticed (and the pool of dead connections dropped) within 2 s, not 10.
    // socketTimeoutMS: no call waits forever for an answer (the driver's default). In the cluster
    // scenarios two replicas' workers stalled for good after FerretDB restarted, runs claimed and
    // never sent, nothing logged: a call that never returns stalls them so. A call unanswered this
    // long fails (unavailable) and is tried again. A minute is more than any answer takes, an index
    // build at start-up included.
    return new MongoClient(uri, { ignoreUndefined: true, serverSelectionTimeoutMS: 5000, heartbeatFrequencyMS: 2000, socketTimeoutMS: SOCKET_TIMEOUT_MS });
  } catch (err) {
    throw toCronError(err);
  }
}

/** Methods that only read: safe to try again. */
const READS = /^(get|list|count)/;

/**
 * Pauses before each new try of a read whose connection failed under it. After a server restart
 * the pool can hand out more than one connection that died with it (two in a row were seen in
 * the cluster scenarios, on one GetRun): the pauses leave the driver's monitor time to notice
 * and empty the pool. A server not found at all (server selection timed out) is not tried again:
 * that already took `serverSelectionTimeoutMS`.
 */
const READ_RETRY_PAUSES_MS = [50, 250];

/**
 * Wraps every method so that whatever it throws reaches the caller as a CronError. A read that
 * failed for want of a connection is tried again (see {@link READ_RETRY_PAUSES_MS}): FerretDB has
 * no sessions, so the driver's own retryable reads are off.
 */
function guardAll(outcome: (err: CronError | undefined) => void, store: Store): Store {
  const guarded: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(store) as [string, (...args: unknown[]) => Promise<unknown>][]) {
    const once = async (args: unknown[]) => {
      let result: unknown;
      try {
        result = await method(...args);
      } catch (err) {
        const failure = toCronError(err);
        outcome(failure);
        throw failure;
      }
      outcome(undefined);
      return result;
    };
    const read = async (args: unknown[]) => {
      for (const pauseMs of READ_RETRY_PAUSES_MS) {
        try {
          return await once(args);
        } catch (err) {
          if ((err as CronError).code !== "unavailable" || (err as CronError).cause instanceof MongoServerSelectionError) throw err;
          await new Promise((resolve) => setTimeout(resolve, pauseMs));
        }
      }
      return once(args);
    };
    guarded[name] = READS.test(name) ? (...args: unknown[]) => read(args) : (...args: unknown[]) => once(args);
  }
  return guarded as unknown as Store;
}
