import { describe, expect, it } from 'vitest';
import { ByteWriter } from './bytes.js';

describe('ByteWriter', () => {
  it('writes numbers as String() does, integers of every length included', () => {
    const values = [0, 7, 10, 99, 100_000_000, 999_999_999, 1e9, 1e9 + 5, 1_000_000_007_000, 1_795_770_000_000];
    values.push(Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, 63.4, 0.1, -3, -0, 1e21, 5e-7, Number.NaN);
    for (let i = 0; i < 2000; i++) values.push(Math.floor(Math.random() * 10 ** Math.floor(Math.random() * 16)));
    const w = new ByteWriter(4);
    for (const v of values) {
      const start = w.pos;
      w.number(v);
      expect(w.text(start, w.pos)).toBe(String(v));
    }
  });

  it('grows and keeps what it wrote, bytes and ASCII text alike', () => {
    const w = new ByteWriter(2);
    w.bytes(Buffer.from('新华,'));
    w.ascii('abc');
    w.byte(10);
    expect(w.text(0, w.pos)).toBe('新华,abc\n');
    w.reset();
    w.ascii('x');
    expect(w.text(0, w.pos)).toBe('x');
  });
});
