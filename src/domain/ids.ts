import type { Clock } from "./clock.js";

/** Crockford base32: sortable, no ambiguous letters. */
const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";
/** 10 base32 chars hold 50 bits, enough for millisecond timestamps until the year 35000. */
const TIME_CHARS = 10;
/** 16 base32 chars = 80 random bits, as in ULID. */
const RANDOM_CHARS = 16;

/** Produces sortable ids: `prefix_` + time + randomness, strictly increasing within one process. */
export type IdGenerator = (prefix: string) => string;

/**
 * Creates a ULID-style generator. Ids sort by creation time; within one millisecond the random
 * part is incremented so that ids from one process stay strictly ordered.
 */
export function createIdGenerator(clock: Clock, randomBytes: (n: number) => Uint8Array): IdGenerator {
  let lastTime = -1;
  let lastRandom: number[] = [];
  return (prefix) => {
    const time = clock.now();
    if (time <= lastTime) {
      lastRandom = increment(lastRandom);
    } else {
      lastTime = time;
      lastRandom = Array.from(randomBytes(RANDOM_CHARS), (b) => b % 32);
    }
    return `${prefix}_${encodeTime(Math.max(time, lastTime))}${lastRandom.map((d) => ALPHABET[d]).join("")}`;
  };
}

function encodeTime(ms: number): string {
  let out = "";
  let rest = ms;
  for (let i = 0; i < TIME_CHARS; i++) {
    out = ALPHABET[rest % 32] + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

function increment(digits: number[]): number[] {
  const next = [...digits];
  for (let i = next.length - 1; i >= 0; i--) {
    if ((next[i] ?? 0) < 31) {
      next[i] = (next[i] ?? 0) + 1;
      return next;
    }
    next[i] = 0;
  }
  return next;
}
