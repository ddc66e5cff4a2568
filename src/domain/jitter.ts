import { createHash } from "node:crypto";

/**
 * The first 6 bytes (48 bits) of the hash are read as an integer: exact in a double, and fine
 * enough that mapping them onto any bound up to a day of ms has no visible bias.
 */
const HASH_BYTES = 6;
/** 2^48: divides the 48-bit prefix into a fraction in [0, 1). */
const HASH_RANGE = 2 ** (8 * HASH_BYTES);

/**
 * Deterministic jitter of one slot: every replica computes the same offset for (job, slot), so
 * the due time is a property of the slot, not of the node firing it. The offset lies in
 * [0, min(maxJitterMs, nextSlot − slot)): never reaching the next slot. 0 when jitter is off.
 */
export function jitterOffset(jobId: string, slot: number, maxJitterMs: number, nextSlot: number | undefined): number {
  const bound = nextSlot === undefined ? maxJitterMs : Math.min(maxJitterMs, nextSlot - slot);
  // Below 1 ms of room the only offset is 0.
  if (bound <= 1) return 0;
  // SHA-256 of the job id and slot: stable across replicas, versions and platforms. The slot is
  // what follows the last "|", so no two (job, slot) pairs share a key.
  const digest = createHash("sha256").update(`${jobId}|${slot}`).digest();
  return Math.floor((digest.readUIntBE(0, HASH_BYTES) / HASH_RANGE) * bound);
}
