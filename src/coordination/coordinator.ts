/** A held lock. Releasing twice is harmless. */
export interface Lock {
  readonly key: string;
  /** Monotonic token of this acquisition; writes guarded by the lock may carry it. */
  readonly token: number;
  /**
   * False once the lock is released or known to be lost (its TTL passed, or the holder's session
   * lease expired while it could not reach etcd): whoever relied on it must stop doing so.
   */
  isHeld(): boolean;
  release(): Promise<void>;
}

/** One replica as the coordinator sees it. */
export interface Member {
  nodeId: string;
  address: string;
  version: string;
  startedAt: number;
  /** The replica's load as it last reported it (absent until it reports one). */
  load?: MemberLoad;
}

/** What a replica reports of its load when its overload starts or ends. */
export interface MemberLoad {
  overloaded: boolean;
  /** Runs accepted and not started yet, at the time of the report. */
  queuedRuns: number;
}

/** How a lock is held. */
export interface LockOptions {
  /**
   * The lock frees itself this long after it was taken, even if never released. Absent: the lock
   * is held until released or until its holder is gone (for the etcd adapter: until the replica's
   * session lease expires), which is how a worker holds the runs it claimed.
   */
  ttlMs?: number;
  /**
   * Take the locks only while this replica leads, as one step that proves it: when leadership is
   * lost, the call fails with `unavailable` and takes nothing. The fire loop fences with it.
   */
  asLeader?: boolean;
}

/** A message handler of the cluster bus. */
export type BusHandler = (message: string) => void;

/** Computes this replica's answer to a question asked on a topic (see {@link Coordinator.ask}). */
export type AnswerHandler = (question: string) => string | Promise<string>;

/** The answers gathered by {@link Coordinator.ask}. */
export interface Answers {
  /** Each answer, by the node id of the replica that gave it. */
  byNode: Map<string, string>;
  /**
   * True when every replica known to answer the topic answered in time; false when one did not
   * (it is gone, slow or failed), and the answers are then partial.
   */
  complete: boolean;
}

/**
 * The coordination port: leader election, locks, fencing, membership and a message bus between
 * replicas. No client or driver type crosses it. The embedded adapter (`local/`) makes its own
 * process the leader and keeps everything in memory; the etcd adapter elects one replica through
 * a lease. Every adapter runs the same contract suite.
 */
export interface Coordinator {
  /** This replica's id. */
  readonly nodeId: string;
  /** Joins the cluster (registers membership, campaigns for leadership). */
  start(): Promise<void>;
  /**
   * Gives up leadership now, so that a successor takes over at once, while staying a member and
   * keeping its locks (a stopping replica resigns first, then drains its runs).
   */
  resign(): Promise<void>;
  /** Resigns, releases every lock and leaves the cluster. */
  stop(): Promise<void>;
  /**
   * Resolves when the coordination backend answers a read that needs its quorum (for etcd: a
   * linearizable read, bounded by the client's call deadline); rejects with `unavailable`
   * otherwise. Readiness probes call it often; it writes nothing.
   */
  ping(): Promise<void>;
  /**
   * True while this replica leads AND its leadership was confirmed recently enough that it cannot
   * have expired: the fire loop checks it before every batch (fencing).
   */
  canFire(): boolean;
  /** The current leader's node id, if one is known. */
  leaderId(): Promise<string | undefined>;
  /** Registers a listener for leadership changes of this replica; returns an unsubscribe function. */
  onLeadershipChange(listener: (leading: boolean) => void): () => void;
  /** Try-lock: resolves to the lock, or undefined at once when another holder has it. */
  tryLock(key: string, options?: LockOptions): Promise<Lock | undefined>;
  /**
   * Try-locks many keys in one step (one round trip for the etcd adapter): resolves to the locks
   * acquired; keys held by someone else (or by this replica already) are absent from the result.
   */
  tryLocks(keys: readonly string[], options?: LockOptions): Promise<Map<string, Lock>>;
  /** Releases many locks in one step. */
  releaseLocks(locks: readonly Lock[]): Promise<void>;
  /**
   * Releases locks but keeps their keys unavailable to everyone for `forMs` (a tombstone): an
   * offer of work already done, arriving late, then cannot take the key again.
   */
  retireLocks(locks: readonly Lock[], forMs: number): Promise<void>;
  /** True when some replica holds the lock. */
  isLocked(key: string): Promise<boolean>;
  /** The node id holding the lock, if any. */
  lockHolder(key: string): Promise<string | undefined>;
  /** The replicas currently registered. */
  members(): Promise<Member[]>;
  /**
   * Publishes this replica's load with its membership, for {@link members} on every replica. Meant
   * for changes (an overload starting or ending), not for every figure: each call is a write.
   */
  reportLoad(load: MemberLoad): Promise<void>;
  /**
   * Sends a message to every replica subscribed to the topic, this one included. Delivery is
   * at most once and in order per sender; callers never rely on it alone for correctness (a
   * periodic store scan backs every message that matters).
   */
  publish(topic: string, message: string): Promise<void>;
  /** Subscribes this replica to a topic; returns an unsubscribe function. */
  subscribe(topic: string, handler: BusHandler): () => void;
  /**
   * True when some other replica subscribes to the topic (known from its subscription, kept up to
   * date in the background): publishing what only other replicas need can be skipped otherwise.
   */
  hasPeerSubscribers(topic: string): boolean;
  /**
   * Makes this replica answer the questions asked on a topic, one handler per topic (a second
   * replaces the first); returns the function that stops answering. A handler that throws gives
   * no answer.
   */
  answer(topic: string, handler: AnswerHandler): () => void;
  /**
   * Asks every replica answering the topic, this one included, and resolves with their answers
   * once all replicas known to answer it have, or after `timeoutMs` with the answers received.
   * Request and reply, for reads that must see what other replicas hold in memory (runs executing
   * there); never for what must survive a replica (the store holds that).
   */
  ask(topic: string, question: string, timeoutMs: number): Promise<Answers>;
}

/** The lock key guarding one job's slots and manual triggers. */
export function jobLockKey(jobId: string): string {
  return `job/${jobId}`;
}
