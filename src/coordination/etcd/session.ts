import type { Etcd3, ILeaseKeepAliveResponse } from "etcd3";
import type { Clock, TimerHandle } from "../../domain/clock.js";

/**
 * This replica's lease: leadership, membership, claims and bus keys hang on it, so they all end
 * when the replica is gone for a TTL.
 */
export interface Session {
  /** The live lease id; undefined before the first grant and while a lost lease is re-granted. */
  leaseId(): string | undefined;
  /**
   * Local time until which the lease surely lives: the send time of the last acknowledged
   * keepalive plus the TTL (etcd counts the TTL from when it received the keepalive, which is
   * later). A leader must stop acting before this, whatever its etcd client believes.
   */
  confirmedUntil(): number;
  /** Grants the first lease (retrying until etcd answers) and starts the keepalives. */
  start(): Promise<void>;
  /** Called with the new lease id each time a lost lease has been replaced. */
  onRenewed(listener: (leaseId: string) => void): void;
  /** Called when etcd says the lease is gone (expired while this replica was unreachable or frozen). */
  onLost(listener: () => void): void;
  /** Called after every keepalive round, acknowledged or not. */
  onTick(listener: () => void): void;
  /** Stops the keepalives and revokes the lease (every key on it disappears at once). */
  stop(): Promise<void>;
}

/** What a session needs. */
export interface SessionOptions {
  client: Etcd3;
  ttlMs: number;
  clock: Clock;
  onError: (err: unknown, step: string) => void;
}

/** Keepalives per TTL: three, so that two can be lost before the lease is at risk. */
const KEEPALIVES_PER_TTL = 3;
/** Pause between grant attempts while etcd is unreachable. */
const GRANT_RETRY_MS = 250;

/**
 * Creates the session. It sends its own keepalives (one request each, with a deadline) instead of
 * the client's automatic ones, because it must know exactly when each acknowledged keepalive was
 * sent: the etcd client notices a dead lease only after about two TTLs.
 */
export function createSession(options: SessionOptions): Session {
  const { client, clock } = options;
  const ttlSeconds = Math.ceil(options.ttlMs / 1000);
  const intervalMs = Math.floor((ttlSeconds * 1000) / KEEPALIVES_PER_TTL);
  let lease: string | undefined;
  let confirmed = 0;
  let timer: TimerHandle | undefined;
  let stopped = false;
  const renewed: ((leaseId: string) => void)[] = [];
  const lost: (() => void)[] = [];
  const ticks: (() => void)[] = [];

  const grant = async (): Promise<string> => {
    for (;;) {
      const sentAt = clock.now();
      try {
        const res = await client.leaseClient.leaseGrant({ TTL: ttlSeconds });
        confirmed = sentAt + Number(res.TTL) * 1000;
        return res.ID;
      } catch (err) {
        if (stopped) throw err;
        options.onError(err, "lease grant");
        await new Promise<void>((resolve) => clock.setTimer(GRANT_RETRY_MS, resolve));
      }
    }
  };
  const keepalive = async () => {
    const id = lease;
    if (!id) return;
    const sentAt = clock.now();
    try {
      const res = await keepaliveOnce(client, id, intervalMs);
      if (Number(res.TTL) > 0) confirmed = Math.max(confirmed, sentAt + Number(res.TTL) * 1000);
      else await replace();
    } catch (err) {
      options.onError(err, "lease keepalive");
    }
  };
  const replace = async () => {
    lease = undefined;
    confirmed = 0;
    for (const l of lost) l();
    const id = await grant();
    if (stopped) return;
    lease = id;
    for (const l of renewed) l(id);
  };
  const loop = () => {
    timer = clock.setTimer(intervalMs, () => {
      void keepalive().finally(() => {
        for (const t of ticks) t();
        if (!stopped) loop();
      });
    });
  };
  return {
    leaseId: () => lease,
    confirmedUntil: () => confirmed,
    async start() {
      lease = await grant();
      loop();
    },
    onRenewed: (l) => void renewed.push(l),
    onLost: (l) => void lost.push(l),
    onTick: (l) => void ticks.push(l),
    async stop() {
      stopped = true;
      timer?.cancel();
      const id = lease;
      lease = undefined;
      confirmed = 0;
      if (id) await client.leaseClient.leaseRevoke({ ID: id }).catch((err: unknown) => options.onError(err, "lease revoke"));
    },
  };
}

/** One keepalive request on a stream of its own, answered or failed within `timeoutMs`. */
async function keepaliveOnce(client: Etcd3, leaseId: string, timeoutMs: number): Promise<ILeaseKeepAliveResponse> {
  const stream = await client.leaseClient.leaseKeepAlive({ deadline: Date.now() + timeoutMs });
  return new Promise((resolve, reject) => {
    const timeout = setTimeout(() => reject(new Error(`lease keepalive unanswered after ${timeoutMs} ms`)), timeoutMs);
    const done = () => {
      clearTimeout(timeout);
      stream.end();
    };
    stream.on("data", (res: ILeaseKeepAliveResponse) => {
      done();
      resolve(res);
    });
    stream.on("error", (err: Error) => {
      done();
      reject(err);
    });
    stream.write({ ID: leaseId });
  });
}
