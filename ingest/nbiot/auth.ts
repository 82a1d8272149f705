// Who may push: a shared token (header or query parameter) or an HMAC of the raw body. Comparisons take constant
// time, so a caller cannot guess the secret byte by byte from response times.
import crypto from 'node:crypto';
import type { AuthConfig } from './config.js';

export type AuthResult = { ok: true } | { ok: false; reason: string };

type Headers = Record<string, string | string[] | undefined>;

function first(v: unknown): string | undefined {
  if (Array.isArray(v)) return typeof v[0] === 'string' ? v[0] : undefined;
  return typeof v === 'string' ? v : undefined;
}

/** Equal-length digests make timingSafeEqual usable on inputs of any length. */
function sameSecret(a: string, b: string): boolean {
  const h = (s: string) => crypto.createHash('sha256').update(s).digest();
  return crypto.timingSafeEqual(h(a), h(b));
}

export function hmacOf(
  secret: string,
  body: Buffer | string,
  algorithm: 'sha256' | 'sha1',
  encoding: 'hex' | 'base64',
): string {
  return crypto.createHmac(algorithm, secret).update(body).digest(encoding);
}

export function verifyAuth(auth: AuthConfig, headers: Headers, query: unknown, raw: Buffer): AuthResult {
  if (auth.mode === 'token') {
    const candidates: string[] = [];
    if (auth.header) {
      const v = first(headers[auth.header.toLowerCase()]);
      if (v !== undefined) candidates.push(v.replace(/^Bearer\s+/i, ''));
    }
    if (auth.query && typeof query === 'object' && query !== null) {
      const v = first((query as Record<string, unknown>)[auth.query]);
      if (v !== undefined) candidates.push(v);
    }
    const where = [auth.header && `header ${auth.header}`, auth.query && `query parameter ${auth.query}`]
      .filter(Boolean)
      .join(' or ');
    if (candidates.length === 0) return { ok: false, reason: `no token (expected in ${where})` };
    return candidates.some((c) => sameSecret(c, auth.token))
      ? { ok: true }
      : { ok: false, reason: `wrong token in ${where}` };
  }
  const got = first(headers[auth.header.toLowerCase()]);
  if (got === undefined) return { ok: false, reason: `no signature (expected in header ${auth.header})` };
  const sig = got.trim().replace(/^(sha256|sha1)=/i, '');
  const expected = Buffer.from(hmacOf(auth.secret, raw, auth.algorithm, auth.encoding), auth.encoding);
  const given = Buffer.from(sig, auth.encoding);
  const ok = given.length === expected.length && crypto.timingSafeEqual(given, expected);
  return ok ? { ok: true } : { ok: false, reason: `signature in header ${auth.header} does not match the body` };
}

/** Headers and query a sender adds to a push so that verifyAuth accepts it (used by the platform simulator). */
export function signPush(
  auth: AuthConfig,
  body: string | Buffer,
): { headers: Record<string, string>; query: Record<string, string> } {
  if (auth.mode === 'token') {
    if (auth.header) return { headers: { [auth.header]: auth.token }, query: {} };
    return { headers: {}, query: { [auth.query!]: auth.token } };
  }
  return { headers: { [auth.header]: hmacOf(auth.secret, body, auth.algorithm, auth.encoding) }, query: {} };
}
