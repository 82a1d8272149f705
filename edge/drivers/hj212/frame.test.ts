import { describe, expect, it } from 'vitest';
import { crcHex, hj212Crc } from './crc.js';
import { decodeFrame, encodeFrame, FrameSplitter, KEEP_BYTES, MAX_POSSIBLE_FRAME, type SplitEvent } from './frame.js';
import vectors from './testdata/vectors.json' with { type: 'json' };

const V = vectors as Record<'A' | 'B' | 'C' | 'D' | 'E' | 'invalid', string>;
const VALID = ['A', 'B', 'C', 'D', 'E'] as const;
const line = (k: keyof typeof V) => Buffer.from(`${V[k]}\r\n`, 'latin1');
const segmentOf = (k: keyof typeof V) => V[k].slice(6, -4);

/** CRC-16/MODBUS, only to show that HJ 212's CRC is a different one. */
function modbus(b: Buffer): number {
  let crc = 0xffff;
  for (const x of b) {
    crc ^= x;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

/** The definition in domain.md, bit by bit: the table-driven hj212Crc must agree with it. */
function reference(b: Buffer): number {
  let crc = 0xffff;
  for (const x of b) {
    crc = (crc >>> 8) ^ x;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

const frames = (evs: SplitEvent[]) => evs.filter((e) => e.kind === 'frame').map((e) => e.raw.toString('latin1'));
const bads = (evs: SplitEvent[]) => evs.filter((e): e is Extract<SplitEvent, { kind: 'bad' }> => e.kind === 'bad');

describe('HJ 212 CRC', () => {
  it('gives the CRC of every test vector and differs from CRC-16/MODBUS', () => {
    for (const k of VALID) expect(crcHex(segmentOf(k))).toBe(V[k].slice(-4));
    expect(crcHex(segmentOf('A'))).toBe('1C80');
    expect(
      modbus(Buffer.from(segmentOf('A')))
        .toString(16)
        .toUpperCase()
        .padStart(4, '0'),
    ).toBe('0759');
    // The invalid vector's correct CRC (its frame copies A's).
    expect(crcHex(V.invalid.slice(6, -4))).toBe('A781');
  });

  it('the table-driven CRC equals the bitwise definition', () => {
    let seed = 7;
    for (let n = 0; n < 200; n++) {
      const b = Buffer.alloc(n * 3);
      for (let i = 0; i < b.length; i++) b[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
      expect(hj212Crc(b)).toBe(reference(b));
    }
  });
});

describe('decodeFrame', () => {
  it('accepts every valid vector, with or without CRLF, and returns its data segment', () => {
    for (const k of VALID) {
      expect(decodeFrame(Buffer.from(V[k], 'latin1'))).toEqual({ ok: true, segment: segmentOf(k) });
      expect(decodeFrame(line(k))).toEqual({ ok: true, segment: segmentOf(k) });
    }
  });

  it('rejects the invalid vector with a reason naming the length and the CRC', () => {
    expect(decodeFrame(Buffer.from(V.invalid, 'latin1'))).toEqual({
      ok: false,
      reason:
        'length field says 112 but the data segment is 92 bytes; CRC "1C80" does not match either (computed A781)',
    });
  });

  it('compares the CRC case-insensitively', () => {
    const lower = V.A.slice(0, -4) + V.A.slice(-4).toLowerCase();
    expect(decodeFrame(Buffer.from(lower)).ok).toBe(true);
  });

  it('reports a CRC mismatch with both values and hands back the untrusted segment', () => {
    const bad = Buffer.from(V.A.slice(0, -4) + '1C81');
    expect(decodeFrame(bad)).toEqual({
      ok: false,
      reason: 'CRC mismatch: frame says 1C81, computed 1C80',
      crcOnly: true,
      segment: segmentOf('A'),
    });
    expect(decodeFrame(Buffer.from(V.A.slice(0, -4) + 'ZZZZ'))).toMatchObject({
      ok: false,
      reason: 'CRC field "ZZZZ" is not 4 hex digits',
    });
  });

  it('rejects what is not a frame', () => {
    expect(decodeFrame(Buffer.from('hello'))).toEqual({ ok: false, reason: 'frame does not start with "##"' });
    expect(decodeFrame(Buffer.from('##01'))).toMatchObject({ ok: false });
    expect(decodeFrame(Buffer.from('##01x1QN=1&&1C80'))).toEqual({
      ok: false,
      reason: 'length field "01x1" is not 4 decimal digits',
    });
  });

  it('encodeFrame round-trips and refuses a segment the length field cannot describe', () => {
    for (const k of VALID) expect(encodeFrame(segmentOf(k)).toString('latin1')).toBe(`${V[k]}\r\n`);
    expect(() => encodeFrame('x'.repeat(10_000))).toThrow(RangeError);
  });
});

describe('FrameSplitter', () => {
  const all = Buffer.concat(VALID.map(line));

  it('finds every frame when the stream is split at every byte boundary', () => {
    for (let cut = 0; cut <= all.length; cut++) {
      const s = new FrameSplitter();
      const evs = [...s.push(all.subarray(0, cut)), ...s.push(all.subarray(cut)), ...s.end()];
      expect(frames(evs)).toEqual(VALID.map((k) => `${V[k]}\r\n`));
      expect(bads(evs)).toEqual([]);
    }
  });

  it('finds every frame when fed one byte at a time', () => {
    const s = new FrameSplitter();
    const evs: SplitEvent[] = [];
    for (let i = 0; i < all.length; i++) evs.push(...s.push(all.subarray(i, i + 1)));
    expect(frames(evs)).toHaveLength(5);
    expect(s.pendingBytes).toBe(0);
  });

  it('splits several frames in one chunk', () => {
    const s = new FrameSplitter();
    expect(frames(s.push(Buffer.concat([all, all])))).toHaveLength(10);
    expect(s.stats).toEqual({ frames: 10, bad: 0, skippedBytes: 0 });
  });

  it('skips garbage between frames, reports it once per run, and ignores bare CRLF and NUL fillers', () => {
    const s = new FrameSplitter();
    const evs = s.push(
      Buffer.concat([
        Buffer.from('AT+OK\r\n'),
        line('A'),
        Buffer.from('\r\n\0 \r\n'),
        line('B'),
        Buffer.from('#x#'),
        line('C'),
        Buffer.from('#'),
      ]),
    );
    expect(frames(evs)).toEqual([`${V.A}\r\n`, `${V.B}\r\n`, `${V.C}\r\n`]);
    expect(bads(evs).map((b) => [b.raw.toString(), b.reason, b.fatal])).toEqual([
      ['AT+OK\r\n', '7 bytes of garbage before a frame start "##"', false],
      ['#x#', '3 bytes of garbage before a frame start "##"', false],
    ]);
    expect(s.stats.skippedBytes).toBe(6);
    // The trailing '#' may be half of the next "##": held, then reported when the stream ends.
    expect(s.pendingBytes).toBe(1);
    expect(bads(s.end()).map((b) => b.raw.toString())).toEqual(['#']);
  });

  it('takes "###0101…" as garbage "#" followed by a frame', () => {
    const s = new FrameSplitter();
    const evs = s.push(Buffer.concat([Buffer.from('#'), line('A')]));
    expect(frames(evs)).toEqual([`${V.A}\r\n`]);
    expect(bads(evs).map((b) => b.raw.toString())).toEqual(['#']);
  });

  it('rejects the invalid vector at once (its CRLF comes before the declared end) and goes on', () => {
    const s = new FrameSplitter();
    const first = s.push(line('invalid'));
    expect(bads(first).map((b) => [b.reason, b.raw.toString('latin1')])).toEqual([
      [
        'length field says 112 but the data segment is 92 bytes; CRC "1C80" does not match either (computed A781)',
        `${V.invalid}\r\n`,
      ],
    ]);
    expect(frames(s.push(line('A')))).toEqual([`${V.A}\r\n`]);
  });

  it('a declared length shorter than the data: the frame ends at its CRLF', () => {
    const s = new FrameSplitter();
    const short = `##0050${V.A.slice(6)}\r\n`;
    const evs = s.push(Buffer.concat([Buffer.from(short), line('B')]));
    expect(bads(evs).map((b) => b.reason)).toEqual(['length field says 50 but the data segment is 101 bytes']);
    expect(frames(evs)).toEqual([`${V.B}\r\n`]);
  });

  it('a frame cut short by a device reset does not swallow the next frame', () => {
    const s = new FrameSplitter();
    const evs = s.push(Buffer.concat([Buffer.from(V.B.slice(0, 120)), line('A'), line('C')]));
    expect(bads(evs).map((b) => [b.reason, b.bytes])).toEqual([
      ['frame cut short: declared data length 367, a new frame starts after 120 bytes', 120],
    ]);
    expect(frames(evs)).toEqual([`${V.A}\r\n`, `${V.C}\r\n`]);
  });

  it('a length field that is not 4 digits costs that frame only', () => {
    const s = new FrameSplitter();
    const evs = s.push(Buffer.concat([Buffer.from('##01a1QN=1;CP=&&&&1234\r\n'), line('A')]));
    expect(bads(evs).map((b) => b.reason)).toEqual(['length field "01a1" is not 4 decimal digits']);
    expect(frames(evs)).toEqual([`${V.A}\r\n`]);
  });

  it('a 1 MB line without CRLF is fatal after maxFrameBytes, keeping only the first bytes', () => {
    const s = new FrameSplitter();
    const big = Buffer.concat([Buffer.from('##0100QN='), Buffer.alloc(1 << 20, 0x41)]);
    const evs: SplitEvent[] = [];
    for (let i = 0; i < big.length && !s.closed; i += 65_536) {
      evs.push(...s.push(big.subarray(i, i + 65_536)));
      expect(s.pendingBytes).toBeLessThan(MAX_POSSIBLE_FRAME + 65_536);
    }
    const b = bads(evs);
    expect(b).toHaveLength(1);
    expect(b[0]!.fatal).toBe(true);
    expect(b[0]!.reason).toBe(`no CRLF within ${MAX_POSSIBLE_FRAME} bytes (maxFrameBytes): line too long`);
    expect(b[0]!.raw.length).toBe(KEEP_BYTES);
    expect(b[0]!.raw.subarray(0, 9).toString()).toBe('##0100QN=');
    expect(s.closed).toBe(true);
    expect(s.push(line('A'))).toEqual([]);
  });

  it('megabytes of garbage without "##" are fatal too, and memory stays bounded', () => {
    const s = new FrameSplitter(2048);
    const evs: SplitEvent[] = [];
    for (let i = 0; i < 100 && !s.closed; i++) evs.push(...s.push(Buffer.alloc(1000, 0x78)));
    expect(bads(evs).map((b) => [b.fatal, b.reason])).toEqual([[true, '3000 bytes without a frame start "##"']]);
  });

  it('a connection that ends inside a frame reports the partial frame', () => {
    const s = new FrameSplitter();
    expect(s.push(Buffer.from(V.A.slice(0, 50)))).toEqual([]);
    expect(bads(s.end()).map((b) => b.reason)).toEqual(['connection closed inside a frame (50 bytes, no CRLF)']);
  });
});
