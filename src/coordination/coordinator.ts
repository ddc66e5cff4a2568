/** A held lock. Releasing twice is harmless. */
export interface Lock {
  readonly key: string;
  /** Monotonic token of this acquisition; writes guarded by the lock may carry it. */
  readonly token: number;
  release(): Promise<void>;
}

/** One replica as the coordinator sees it. */
export interface Member {
  nodeId: string;
  address: string;
  version: string;
  startedAt: number;
}

/**
 * The coordination port: leader election, per-job locks and fencing. No client or driver type
 * crosses it. The embedded adapter (`local/`) makes its own process the leader; the etcd adapter
 * elects one replica through a lease. Every adapter runs the same contract suite.
 */
export interface Coordinator {
  /** This replica's id. */
  readonly nodeId: string;
  /** Joins the cluster (registers membership, campaigns for leadership). */
  start(): Promise<void>;
  /** Resigns leadership, releases locks and leaves the cluster. */
  stop(): Promise<void>;
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
  tryLock(key: string, ttlMs: number): Promise<Lock | undefined>;
  /** True when some replica holds the lock. */
  isLocked(key: string): Promise<boolean>;
  /** The replicas currently registered. */
  members(): Promise<Member[]>;
}

/** The lock key guarding one job's slots and manual triggers. */
export function jobLockKey(jobId: string): string {
  return `job/${jobId}`;
}
