import { describe, expect, it } from 'vitest';
import { CODE_ALPHABET, CODE_BITS, formatCode, generateCode, normaliseCode } from './codes.js';

describe('query codes', () => {
  it('are 16 characters of Crockford base32 carrying 80 random bits', () => {
    expect(CODE_BITS).toBe(80);
    const c = generateCode();
    expect(c).toMatch(/^[0-9A-HJKMNP-TV-Z]{16}$/);
    // Every bit of the 10 bytes lands in the code: all-ones and all-zeros map to the alphabet's ends.
    expect(generateCode(() => Buffer.alloc(10, 0xff))).toBe('Z'.repeat(16));
    expect(generateCode(() => Buffer.alloc(10, 0))).toBe('0'.repeat(16));
    // Bits in order, most significant first: 0x80 followed by zeros is 10000 000.. → "G" then "0"s.
    expect(generateCode(() => Buffer.from([0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0]))).toBe('G' + '0'.repeat(15));
    // The last 5 bits: 0x1f in the last byte.
    expect(generateCode(() => Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0x1f]))).toBe('0'.repeat(15) + 'Z');
  });

  it('has no collisions in 10,000 and uses every character', () => {
    const seen = new Set<string>();
    const chars = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const c = generateCode();
      seen.add(c);
      for (const ch of c) chars.add(ch);
    }
    expect(seen.size).toBe(10_000);
    expect([...chars].sort().join('')).toBe([...CODE_ALPHABET].sort().join(''));
  });

  it('formats in groups of four and reads back what people type', () => {
    const c = '7K3M9QXR2D4F8HJN';
    expect(formatCode(c)).toBe('7K3M-9QXR-2D4F-8HJN');
    expect(normaliseCode('7K3M-9QXR-2D4F-8HJN')).toBe(c);
    expect(normaliseCode(' 7k3m 9qxr 2d4f 8hjn ')).toBe(c);
    // Crockford: I and L are 1, O is 0.
    expect(normaliseCode('ILO0-0000-0000-0000')).toBe('1100000000000000');
    // Too short, too long, characters outside the alphabet (U), and junk are not codes.
    expect(normaliseCode('7K3M-9QXR-2D4F-8HJ')).toBeNull();
    expect(normaliseCode('7K3M-9QXR-2D4F-8HJNN')).toBeNull();
    expect(normaliseCode('UK3M-9QXR-2D4F-8HJN')).toBeNull();
    expect(normaliseCode('../../etc/passwd')).toBeNull();
    expect(normaliseCode('x'.repeat(10_000))).toBeNull();
    expect(normaliseCode('')).toBeNull();
  });
});
