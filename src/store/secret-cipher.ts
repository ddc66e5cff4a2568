import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { CronError } from "../domain/cron-error.js";

/** Marks a sealed value: the version of the format, then the key id, then the sealed bytes. */
export const SEALED_PREFIX = "cronmesh:sealed:v1:";
/** AES-256 keys are 32 bytes. */
export const SECRET_KEY_BYTES = 32;
/** GCM's standard nonce: 96 random bits per value (safe for far more values than any job store holds per key). */
const IV_BYTES = 12;
const TAG_BYTES = 16;
const ALGORITHM = "aes-256-gcm";

/** The keys secrets are sealed with: `current` seals (and opens), `previous` only open. */
export interface SecretKeys {
  current?: Buffer;
  previous: Buffer[];
}

/** Seals values with AES-256-GCM, bound to a context (what the value is and where it lives). */
export interface SecretCipher {
  /** False without a current key: values are then stored as they are. */
  readonly canSeal: boolean;
  /** The sealed form of `value`; only `open` with the same `context` gives it back. */
  seal(value: string, context: string): string;
  /** The value of a sealed string. Throws `internal` when no configured key opens it (message names the key id only). */
  open(sealed: string, context: string): string;
}

/** True for a value written by {@link SecretCipher.seal}. */
export function isSealed(value: string): boolean {
  return value.startsWith(SEALED_PREFIX);
}

/** A key's public name: 64 bits of its SHA-256, enough to pick the key without revealing it. */
export function keyId(key: Buffer): string {
  return createHash("sha256").update(key).digest("hex").slice(0, 16);
}

/** A cipher over the given keys. */
export function createSecretCipher(keys: SecretKeys): SecretCipher {
  const byId = new Map([keys.current, ...keys.previous].filter((k): k is Buffer => k !== undefined).map((k) => [keyId(k), k]));
  const current = keys.current;
  const currentId = current && keyId(current);
  return {
    canSeal: current !== undefined,
    seal(value, context) {
      if (!current) return value;
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv(ALGORITHM, current, iv).setAAD(Buffer.from(context, "utf8"));
      const body = Buffer.concat([iv, cipher.update(value, "utf8"), cipher.final(), cipher.getAuthTag()]);
      return `${SEALED_PREFIX}${currentId}:${body.toString("base64url")}`;
    },
    open(sealed, context) {
      const rest = sealed.slice(SEALED_PREFIX.length);
      const colon = rest.indexOf(":");
      const id = rest.slice(0, colon);
      const key = byId.get(id);
      if (!key) throw new CronError("internal", `a secret was sealed with key ${id}, which is neither SECRETS_KEY nor in SECRETS_KEY_PREVIOUS`);
      const body = Buffer.from(rest.slice(colon + 1), "base64url");
      try {
        const decipher = createDecipheriv(ALGORITHM, key, body.subarray(0, IV_BYTES)).setAAD(Buffer.from(context, "utf8"));
        decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
        return Buffer.concat([decipher.update(body.subarray(IV_BYTES, body.length - TAG_BYTES)), decipher.final()]).toString("utf8");
      } catch (err) {
        throw new CronError("internal", `a secret sealed with key ${id} does not open: altered, or moved from another field`, undefined, { cause: err });
      }
    },
  };
}
