// HTTP authentication answered from the server's challenge (WWW-Authenticate): Basic (RFC 7617) and Digest
// (RFC 7616: MD5, SHA-256 and SHA-512-256, their -sess variants, qop=auth, userhash). IP cameras put their snapshot
// URLs behind Digest (Hikvision's ISAPI, Dahua, Uniview) so that the password never crosses the network, which Basic
// over plain HTTP does; undici's fetch answers neither.
import crypto from 'node:crypto';

export interface AuthChallenge {
  /** Lower case: 'basic', 'digest', ... */
  scheme: string;
  /** Parameter names in lower case, values unquoted. */
  params: Record<string, string>;
}

/**
 * The challenges of a WWW-Authenticate value; several headers joined with ", " (as fetch's Headers.get joins them)
 * are read as one list: `Digest realm="a", qop="auth", algorithm=SHA-256, Digest realm="a", algorithm=MD5, Basic realm="a"`.
 */
export function parseChallenges(header: string): AuthChallenge[] {
  const out: AuthChallenge[] = [];
  let i = 0;
  const n = header.length;
  const ws = () => {
    while (i < n && /[\s,]/.test(header[i]!)) i++;
  };
  const token = () => {
    const m = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/.exec(header.slice(i));
    if (!m) return '';
    i += m[0].length;
    return m[0];
  };
  while (i < n) {
    ws();
    const scheme = token();
    if (!scheme) {
      i++;
      continue;
    }
    const ch: AuthChallenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(ch);
    for (;;) {
      ws();
      const save = i;
      const name = token();
      if (!name) break;
      let j = i;
      while (j < n && header[j] === ' ') j++;
      if (header[j] !== '=') {
        // A token not followed by '=' starts the next challenge (or is token68, which no scheme here uses).
        i = save;
        break;
      }
      i = j + 1;
      while (i < n && header[i] === ' ') i++;
      let value = '';
      if (header[i] === '"') {
        i++;
        while (i < n && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < n) i++;
          value += header[i++];
        }
        i++;
      } else {
        const m = /^[^,\s]*/.exec(header.slice(i))!;
        value = m[0];
        i += value.length;
      }
      ch.params[name.toLowerCase()] = value;
    }
  }
  return out;
}

const HASHES: Record<string, string> = { md5: 'md5', 'sha-256': 'sha256', 'sha-512-256': 'sha512-256' };
/** Strongest first: a server offering several lets the client pick (RFC 7616 §3.7). */
const PREFERENCE = ['sha-512-256', 'sha-256', 'md5'];

function algorithmOf(ch: AuthChallenge): { hash: string; sess: boolean; name: string } | null {
  const name = ch.params.algorithm ?? 'MD5';
  const lower = name.toLowerCase();
  const sess = lower.endsWith('-sess');
  const hash = HASHES[sess ? lower.slice(0, -5) : lower];
  return hash ? { hash, sess, name } : null;
}

/** The Digest challenge to answer among those offered: the strongest algorithm we know, with qop auth or none. */
export function pickDigest(challenges: AuthChallenge[]): AuthChallenge | null {
  const usable = challenges.filter((c) => {
    if (c.scheme !== 'digest' || !c.params.nonce || c.params.realm === undefined || !algorithmOf(c)) return false;
    const qop = c.params.qop;
    return qop === undefined || qop.split(',').some((q) => q.trim().toLowerCase() === 'auth');
  });
  const rank = (c: AuthChallenge) =>
    PREFERENCE.indexOf((c.params.algorithm ?? 'md5').toLowerCase().replace(/-sess$/, ''));
  return usable.sort((a, b) => rank(a) - rank(b))[0] ?? null;
}

export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

const quote = (s: string) => `"${s.replace(/["\\]/g, '\\$&')}"`;

/**
 * Answers one Digest challenge for a run of requests: the nonce count goes up with each (a server may accept the
 * nonce again, saving the round trip of a new 401), and a 401 with stale=true means: start again with its new nonce.
 */
export class DigestSession {
  private nc = 0;
  private readonly alg: { hash: string; sess: boolean; name: string };
  private readonly qop: 'auth' | undefined;

  constructor(
    readonly challenge: AuthChallenge,
    private readonly username: string,
    private readonly password: string,
    private readonly cnonce: () => string = () => crypto.randomBytes(16).toString('hex'),
  ) {
    const alg = algorithmOf(challenge);
    if (!alg) throw new Error(`unsupported digest algorithm ${challenge.params.algorithm}`);
    this.alg = alg;
    this.qop = challenge.params.qop === undefined ? undefined : 'auth';
  }

  private h(s: string): string {
    return crypto.createHash(this.alg.hash).update(s, 'utf8').digest('hex');
  }

  /** The Authorization header for `method` on `uri` (the request target: path and query, as sent). */
  authorization(method: string, uri: string): string {
    const p = this.challenge.params;
    const realm = p.realm ?? '';
    const nonce = p.nonce!;
    const cnonce = this.cnonce();
    const nc = (++this.nc).toString(16).padStart(8, '0');
    let ha1 = this.h(`${this.username}:${realm}:${this.password}`);
    if (this.alg.sess) ha1 = this.h(`${ha1}:${nonce}:${cnonce}`);
    const ha2 = this.h(`${method}:${uri}`);
    const response = this.qop
      ? this.h(`${ha1}:${nonce}:${nc}:${cnonce}:${this.qop}:${ha2}`)
      : this.h(`${ha1}:${nonce}:${ha2}`);
    const userhash = p.userhash?.toLowerCase() === 'true';
    const fields = [
      `username=${quote(userhash ? this.h(`${this.username}:${realm}`) : this.username)}`,
      `realm=${quote(realm)}`,
      `nonce=${quote(nonce)}`,
      `uri=${quote(uri)}`,
      `algorithm=${this.alg.name}`,
      `response=${quote(response)}`,
    ];
    if (p.opaque !== undefined) fields.push(`opaque=${quote(p.opaque)}`);
    if (this.qop) fields.push(`qop=${this.qop}`, `nc=${nc}`, `cnonce=${quote(cnonce)}`);
    if (userhash) fields.push('userhash=true');
    return `Digest ${fields.join(', ')}`;
  }
}
