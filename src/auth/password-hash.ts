import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

/** scrypt cost parameters: N = 2^ln, block size r, parallelism p. */
export interface ScryptParams {
  ln: number;
  r: number;
  p: number;
}

/**
 * The default cost: N = 2^15, r = 8, p = 1 (32 MiB, one of OWASP's recommended scrypt settings
 * for password storage). Each hash states its own parameters, so raising this later keeps old
 * hashes valid.
 */
export const DEFAULT_SCRYPT: ScryptParams = { ln: 15, r: 8, p: 1 };
/** Accepted ranges: below them a hash is too cheap to guess at, above them one check takes seconds or gigabytes. */
const BOUNDS = { ln: [10, 20], r: [1, 32], p: [1, 16] } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
const FORMAT = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

/** A parsed password hash. */
export interface PasswordHash {
  params: ScryptParams;
  salt: Buffer;
  key: Buffer;
}

/**
 * Parses `$scrypt$ln=<ln>,r=<r>,p=<p>$<salt base64>$<key base64>` (the PHC string format);
 * throws an Error saying what is wrong (never echoing the hash) when it is not one.
 */
export function parsePasswordHash(encoded: string): PasswordHash {
  const m = FORMAT.exec(encoded);
  if (!m) throw new Error("is not a $scrypt$ln=…,r=…,p=…$salt$key hash");
  const params = { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  for (const [name, [min, max]] of Object.entries(BOUNDS)) {
    const v = params[name as keyof ScryptParams];
    if (v < min || v > max) throw new Error(`has scrypt ${name}=${v}, outside ${min}..${max}`);
  }
  const key = Buffer.from(m[5]!, "base64");
  if (key.length < 16) throw new Error("has a key shorter than 16 bytes");
  return { params, salt: Buffer.from(m[4]!, "base64"), key };
}

function derive(password: string, salt: Buffer, params: ScryptParams, length: number): Promise<Buffer> {
  const N = 2 ** params.ln;
  // scrypt needs 128·N·r bytes; twice that leaves room for Node's own bookkeeping.
  const maxmem = 256 * N * params.r;
  return new Promise((resolve, reject) => {
    scrypt(password, salt, length, { N, r: params.r, p: params.p, maxmem }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** Hashes a password with a fresh random salt; the result names its parameters. */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, params, KEY_BYTES);
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${salt.toString("base64")}$${key.toString("base64")}`;
}

/** True when the password matches the hash (compared in constant time). */
export async function verifyPassword(password: string, hash: PasswordHash): Promise<boolean> {
  const key = await derive(password, hash.salt, hash.params, hash.key.length);
  return timingSafeEqual(key, hash.key);
}
