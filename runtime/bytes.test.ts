import { describe, expect, it } from 'vitest';
import { ByteWriter } from './bytes.js';

describe('ByteWriter', () => {
  it('writes numbers as String() does: integers of every length, decimals, negatives and the rest', () => {
    const values = [0, 7, 10, 99, 100_000_000, 999_999_999, 1e9, 1e9 + 5, 1_000_000_007_000, 1_795_770_000_000];
    values.push(Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, 63.4, 0.1, -3, -0, 1e21, 5e-7, Number.NaN);
    for (let i = 0; i < 2000; i++) values.push(Math.floor(Math.random() * 10 ** Math.floor(Math.random() * 16)));
    // Decimals as sensors send them, of every number of places, signs and sizes, and doubles with no short decimal.
    values.push(0.1 + 0.2, 1e-6, 1.5e-6, 999_999_999.5, 123_456_789.123456, 0.000123, -0.5, -63.4, -1e9 - 0.5, 1 / 3);
    for (let i = 0; i < 20_000; i++) {
      const places = Math.floor(Math.random() * 8);
      const v = Math.round(Math.random() * 10 ** Math.floor(Math.random() * 12)) / 10 ** places;
      values.push(Math.random() < 0.2 ? -v : v, Math.random() * 10 ** (Math.floor(Math.random() * 20) - 8));
    }
    const w = new ByteWriter(4);
    for (const v of values) {
      const start = w.pos;
      w.number(v);
      expect(w.view(start, w.pos).toString()).toBe(String(v));
    }
  });

  it('grows and keeps what it wrote, bytes and ASCII text alike', () => {
    const w = new ByteWriter(2);
    w.bytes(Buffer.from('新华,'));
    w.ascii('abc');
    w.byte(10);
    expect(w.view(0, w.pos).toString()).toBe('新华,abc\n');
    w.reset();
    w.ascii('x');
    expect(w.view(0, w.pos).toString()).toBe('x');
  });
});
