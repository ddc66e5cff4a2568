import { ConsecutiveBreaker, ExponentialBackoff, circuitBreaker, handleWhen, retry, type IBackoff } from "cockatiel";
import { Etcd3, isRecoverableError } from "etcd3";

/**
 * Deadline of every unary etcd call. A call to a cluster without quorum otherwise waits for
 * minutes; two seconds is far beyond a healthy etcd's milliseconds and short against lease TTLs.
 */
const CALL_DEADLINE_MS = 2000;

/**
 * Creates the etcd client with fault handling tuned for fast recovery. The library's defaults
 * (a host circuit open for 5 s after three failures, watch reconnects backing off to 30 s) would
 * leave a replica blind for far longer than a lease TTL after etcd comes back.
 */
export function createEtcdClient(endpoints: string[]): Etcd3 {
  return new Etcd3({
    hosts: endpoints,
    dialTimeout: CALL_DEADLINE_MS,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + CALL_DEADLINE_MS }),
    faultHandling: {
      host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 500, breaker: new ConsecutiveBreaker(3) }),
      global: retry(handleWhen(isRecoverableError), { maxAttempts: 2 }),
      // etcd3 types this as a backoff but only calls `next()` on it, which is what a factory offers.
      watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1000 }) as unknown as IBackoff<unknown>,
    },
  });
}

/** Bytes of a key or value. */
export function bytes(text: string): Buffer {
  return Buffer.from(text, "utf8");
}

/** The exclusive end of the key range of every key starting with `prefix`. */
export function prefixEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix, "utf8");
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}
