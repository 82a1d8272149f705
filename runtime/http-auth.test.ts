// Digest (RFC 7616) against the RFC's own worked example (§3.9.1), and challenge parsing as cameras send it. The
// client against a real server: edge/drivers/camera/snapshot.test.ts (lighttpd).
import { describe, expect, it } from 'vitest';
import { DigestSession, parseChallenges, pickDigest } from './http-auth.js';

const RFC_HEADER =
  'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS", ' +
  'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"';
const CNONCE = 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ';

describe('Digest (RFC 7616)', () => {
  it('parses two challenges in one header and picks SHA-256 over MD5', () => {
    const ch = parseChallenges(RFC_HEADER);
    expect(ch).toHaveLength(2);
    expect(ch[1]!.params).toMatchObject({ realm: 'http-auth@example.org', qop: 'auth, auth-int', algorithm: 'MD5' });
    expect(pickDigest(ch)!.params.algorithm).toBe('SHA-256');
    expect(
      parseChallenges('Basic realm="a, b", Digest realm="x\\"y", nonce=abc').map((c) => [c.scheme, c.params.realm]),
    ).toEqual([
      ['basic', 'a, b'],
      ['digest', 'x"y'],
    ]);
  });

  it("gives the RFC's responses for MD5 and SHA-256", () => {
    for (const [i, response] of [
      [0, '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1'],
      [1, '8ca523f5e9506fed4657c9700eebdbec'],
    ] as const) {
      const s = new DigestSession(parseChallenges(RFC_HEADER)[i]!, 'Mufasa', 'Circle of Life', () => CNONCE);
      const h = s.authorization('GET', '/dir/index.html');
      expect(h).toContain(`response="${response}"`);
      expect(h).toContain('nc=00000001');
      expect(h).toContain('qop=auth,');
      expect(s.authorization('GET', '/dir/index.html')).toContain('nc=00000002');
    }
  });
});
