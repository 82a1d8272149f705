// Password hashing with scrypt (node:crypto), stored as a self-describing string so that the cost can be raised
// later without breaking stored hashes: `$scrypt$ln=15,r=8,p=1$<salt, base64>$<key, base64>` (the PHC string format;
// ln is log2 of N). People's passwords use N=2^15, r=8, p=1 (32 MiB, ~75 ms here); long random machine secrets
// (MQTT device passwords) may use a cheaper N, see broker/README.md.
import crypto from 'node:crypto';
import { promisify } from 'node:util';

const scrypt = promisify(crypto.scrypt) as (
  pw: crypto.BinaryLike,
  salt: crypto.BinaryLike,
  len: number,
  o: crypto.ScryptOptions,
) => Promise<Buffer>;

export interface ScryptParams {
  /** log2 of the CPU/memory cost N. */
  ln: number;
  r: number;
  p: number;
}

/** For passwords people choose: N=2^15, r=8, p=1, a 16-byte salt and a 64-byte key. */
export const PASSWORD_KDF: ScryptParams = { ln: 15, r: 8, p: 1 };
/** For 256-bit random secrets, where stretching adds nothing (no guessing a 2^256 space): N=2^10 (~2 ms). */
export const MACHINE_SECRET_KDF: ScryptParams = { ln: 10, r: 8, p: 1 };

const SALT_BYTES = 16;
const KEY_BYTES = 64;
// A stored hash is read from a file or database: bound its parameters so a tampered entry cannot make every
// verification allocate gigabytes.
const LIMITS = { ln: [1, 20], r: [1, 32], p: [1, 16] } as const;

const HASH_RE = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

export interface ParsedHash {
  params: ScryptParams;
  salt: Buffer;
  key: Buffer;
}

/** Parses a stored hash; null when it is not one this module wrote (or its parameters are out of bounds). */
export function parseHash(stored: string): ParsedHash | null {
  const m = HASH_RE.exec(stored);
  if (!m) return null;
  const params = { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  for (const k of ['ln', 'r', 'p'] as const) {
    if (params[k] < LIMITS[k][0] || params[k] > LIMITS[k][1]) return null;
  }
  const salt = Buffer.from(m[4]!, 'base64');
  const key = Buffer.from(m[5]!, 'base64');
  if (salt.length < 8 || key.length < 16) return null;
  return { params, salt, key };
}

export function isHash(stored: string): boolean {
  return parseHash(stored) !== null;
}

// scrypt runs on libuv's thread pool (4 threads unless UV_THREADPOOL_SIZE says otherwise), which file reads and
// writes (evidence images, edge buffers) share. At most half of it derives keys at once: a burst of logins or MQTT
// connections waits here in order instead of taking every thread. Callers bound how much they queue (throttle.ts,
// broker/auth.ts).
const KDF_THREADS = Math.max(1, Math.floor((Number(process.env.UV_THREADPOOL_SIZE) || 4) / 2));
let kdfRunning = 0;
const kdfWaiting: (() => void)[] = [];

/** Derivations running and waiting now (for tests and the abuse benchmark). */
export function kdfLoad(): { running: number; waiting: number; threads: number } {
  return { running: kdfRunning, waiting: kdfWaiting.length, threads: KDF_THREADS };
}

async function derive(password: string | Buffer, salt: Buffer, len: number, p: ScryptParams): Promise<Buffer> {
  if (kdfRunning >= KDF_THREADS) await new Promise<void>((resolve) => kdfWaiting.push(resolve));
  else kdfRunning++;
  try {
    const N = 2 ** p.ln;
    // Node's default maxmem (32 MiB) is just short of what N=2^15, r=8 needs (128·N·r bytes plus a little).
    return await scrypt(password, salt, len, { N, r: p.r, p: p.p, maxmem: 2 * 128 * N * p.r * p.p + 1024 * 1024 });
  } finally {
    // The slot passes straight to the next waiter, so the count never drops below what runs.
    const next = kdfWaiting.shift();
    if (next) next();
    else kdfRunning--;
  }
}

export async function hashPassword(password: string | Buffer, params: ScryptParams = PASSWORD_KDF): Promise<string> {
  const salt = crypto.randomBytes(SALT_BYTES);
  const key = await derive(password, salt, KEY_BYTES, params);
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Constant-time comparison of the derived key; false for a malformed stored hash. */
export async function verifyPassword(password: string | Buffer, stored: string): Promise<boolean> {
  const h = parseHash(stored);
  if (!h) return false;
  const key = await derive(password, h.salt, h.key.length, h.params);
  return crypto.timingSafeEqual(key, h.key);
}

/** A random secret of `bytes` bytes, base64url (32 bytes → 43 characters). */
export function randomSecret(bytes = 32): string {
  return crypto.randomBytes(bytes).toString('base64url');
}

export function sha256(data: string | Buffer): Buffer {
  return crypto.createHash('sha256').update(data).digest();
}
