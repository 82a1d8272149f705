import { describe, expect, it } from 'vitest';
import { FailureLimiter, IN_FLIGHT_RETRY_MS } from './limiter.js';
import { hashPassword, parseHash, PASSWORD_KDF, verifyPassword } from './kdf.js';

describe('scrypt password hashes', () => {
  it('stores N=2^15, r=8, p=1, a 16-byte salt and a 64-byte key with the hash, and verifies', async () => {
    const h = await hashPassword('correct horse battery staple');
    expect(h).toMatch(/^\$scrypt\$ln=15,r=8,p=1\$/);
    const p = parseHash(h)!;
    expect(p.params).toEqual(PASSWORD_KDF);
    expect(p.salt.length).toBe(16);
    expect(p.key.length).toBe(64);
    expect(await verifyPassword('correct horse battery staple', h)).toBe(true);
    expect(await verifyPassword('correct horse battery stapl', h)).toBe(false);
  });

  it('salts every hash and verifies with the parameters stored in it', async () => {
    const a = await hashPassword('same password', { ln: 10, r: 8, p: 1 });
    const b = await hashPassword('same password', { ln: 11, r: 8, p: 2 });
    expect(a).not.toBe(b);
    expect(await verifyPassword('same password', a)).toBe(true);
    expect(await verifyPassword('same password', b)).toBe(true);
  });

  it('refuses malformed hashes and absurd parameters instead of running them', async () => {
    expect(await verifyPassword('x', 'plain-text-password')).toBe(false);
    expect(await verifyPassword('x', '')).toBe(false);
    const h = await hashPassword('x', { ln: 10, r: 8, p: 1 });
    expect(await verifyPassword('x', h.replace('ln=10', 'ln=30'))).toBe(false);
    expect(parseHash(h.replace('r=8', 'r=99'))).toBeNull();
  });
});

describe('FailureLimiter', () => {
  it('blocks after max failures in the window and frees the key as they age out', () => {
    let t = 1_000_000;
    const l = new FailureLimiter({ max: 3, windowMs: 60_000 }, () => t);
    for (let i = 0; i < 3; i++) {
      expect(l.blockedFor('k')).toBe(0);
      l.fail('k');
      t += 1000;
    }
    expect(l.blockedFor('k')).toBe(57_000);
    expect(l.blockedFor('other')).toBe(0);
    t += 57_000;
    expect(l.blockedFor('k')).toBe(0);
    l.fail('k');
    l.reset('k');
    expect(l.blockedFor('k')).toBe(0);
  });

  it('counts attempts in flight: a burst cannot pass the check before its failures are counted', async () => {
    const l = new FailureLimiter({ max: 2, windowMs: 60_000 });
    const a = l.begin('k');
    expect(l.blockedFor('k')).toBe(0);
    const b = l.begin('k');
    expect(l.blockedFor('k')).toBe(IN_FLIGHT_RETRY_MS);
    expect(l.failedFor('k')).toBe(0);
    let woken = false;
    const waiting = l.settled('k').then(() => (woken = true));
    a.end();
    a.fail(); // settles once only
    await waiting;
    expect(woken).toBe(true);
    expect(l.failuresOf('k')).toBe(0);
    expect(l.blockedFor('k')).toBe(0);
    b.fail();
    l.begin('k').fail();
    expect(l.inFlightOf('k')).toBe(0);
    expect(l.failedFor('k')).toBeGreaterThan(0);
  });

  it('keeps at most maxKeys keys', () => {
    const l = new FailureLimiter({ max: 1, windowMs: 60_000 }, Date.now, 10);
    for (let i = 0; i < 100; i++) l.fail(`k${i}`);
    expect(l.blockedFor('k0')).toBe(0);
    expect(l.blockedFor('k99')).toBeGreaterThan(0);
  });
});
