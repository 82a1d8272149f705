// Fuzz test of the pure HJ 212 parts: seeded random bytes and mutations of the test vectors, cut into random
// chunks, through splitter → decodeFrame → parseSegment → mapPacket. Nothing may throw, every input must end as a
// frame or a reason, every byte must be accounted for, and the splitter must never hold more than its bound.
// (No clock is read: "no hang" is the test finishing, the splitter doing bounded work per byte.)
import { describe, expect, it } from 'vitest';
import { factorMap } from './config.js';
import { decodeFrame, FrameSplitter, type SplitEvent } from './frame.js';
import { mapPacket } from './mapping.js';
import { parseSegment } from './packet.js';
import vectors from './testdata/vectors.json' with { type: 'json' };

const V = vectors as Record<string, string>;
const LINES = ['A', 'B', 'C', 'D', 'E', 'invalid'].map((k) => Buffer.from(`${V[k]}\r\n`, 'latin1'));
const FACTORS = factorMap({ factors: {} });
const DEVICE = { id: 'fz', district: 'fuzz', kind: 'dust' as const };
const MAX = 2048;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SPECIAL = Buffer.from('#&;,=-\r\n0123456789AFaf', 'latin1');

function mutate(src: Buffer, r: () => number): Buffer {
  const b = [...src];
  const n = 1 + Math.floor(r() * 4);
  for (let k = 0; k < n; k++) {
    const i = Math.floor(r() * (b.length + 1));
    const byte = r() < 0.6 ? SPECIAL[Math.floor(r() * SPECIAL.length)]! : Math.floor(r() * 256);
    switch (Math.floor(r() * 5)) {
      case 0:
        b[i] = byte;
        break; // replace
      case 1:
        b.splice(i, 0, byte);
        break; // insert
      case 2:
        b.splice(i, 1 + Math.floor(r() * 8));
        break; // delete a run
      case 3:
        b.splice(i, 0, ...b.slice(Math.floor(r() * b.length), Math.floor(r() * b.length)));
        break; // duplicate a slice
      default:
        b.splice(i, b.length); // truncate
    }
  }
  return Buffer.from(b);
}

/** Everything a connection would do with the bytes, minus the socket. */
function consume(stream: Buffer, r: () => number) {
  const s = new FrameSplitter(MAX);
  const evs: SplitEvent[] = [];
  let pushed = 0;
  for (let i = 0; i < stream.length && !s.closed;) {
    const n = 1 + Math.floor(r() * (r() < 0.2 ? 4000 : 300));
    const chunk = stream.subarray(i, i + n);
    evs.push(...s.push(chunk));
    pushed += chunk.length;
    i += n;
    expect(s.pendingBytes).toBeLessThanOrEqual(MAX + n);
  }
  const dead = s.closed;
  const pending = s.pendingBytes;
  if (!dead) evs.push(...s.end());
  let accounted = s.stats.skippedBytes;
  let ok = 0;
  for (const e of evs) {
    if (e.kind === 'bad') {
      expect(e.reason.length).toBeGreaterThan(0);
      expect(e.raw.length).toBeLessThanOrEqual(4096);
      accounted += e.bytes;
      continue;
    }
    accounted += e.raw.length;
    const d = decodeFrame(e.raw);
    if (!d.ok) {
      expect(d.reason.length).toBeGreaterThan(0);
      continue;
    }
    const p = parseSegment(d.segment);
    if (!p.ok) {
      expect(p.reason.length).toBeGreaterThan(0);
      continue;
    }
    const m = mapPacket(p.packet, DEVICE, {
      factors: FACTORS,
      timeZone: 'Asia/Shanghai',
      receivedAt: 1_700_000_000_000,
    });
    for (const { reading } of m.readings) {
      for (const v of Object.values(reading.metrics)) expect(Number.isFinite(v)).toBe(true);
      for (const f of Object.values(reading.flags ?? {})) expect(f).toMatch(/^[A-Z]$/);
    }
    ok++;
  }
  // Every byte pushed is in a frame, a bad event, skipped filler, or (after a fatal event) nowhere further.
  if (!dead) expect(accounted).toBe(pushed);
  else expect(accounted + pending).toBeLessThanOrEqual(pushed);
  return { ok, events: evs.length };
}

describe('HJ 212 codec fuzz', () => {
  it('random bytes: no throw, every byte accounted for', () => {
    const r = rng(1);
    for (let n = 0; n < 300; n++) {
      const len = Math.floor(r() * 6000);
      const b = Buffer.alloc(len);
      // Bias towards the protocol's own characters, or the parser would only ever see garbage.
      for (let i = 0; i < len; i++)
        b[i] = r() < 0.3 ? SPECIAL[Math.floor(r() * SPECIAL.length)]! : Math.floor(r() * 256);
      consume(b, r);
    }
  });

  it('mutated vectors among intact ones: intact frames still come through', () => {
    const r = rng(2);
    let intact = 0;
    let parsed = 0;
    for (let n = 0; n < 1500; n++) {
      const parts: Buffer[] = [];
      let good = 0;
      for (let k = 0; k < 1 + Math.floor(r() * 5); k++) {
        const v = LINES[Math.floor(r() * LINES.length)]!;
        if (r() < 0.5) parts.push(mutate(v, r));
        else {
          parts.push(v);
          if (v !== LINES[5]) good++;
        }
      }
      const { ok } = consume(Buffer.concat(parts), r);
      intact += good;
      parsed += ok;
    }
    // A mutation can eat the next frame (e.g. a deleted CRLF) or happen to be harmless, so only roughly equal.
    expect(parsed).toBeGreaterThan(intact * 0.7);
  });

  it('mutated segments with a correct CRC reach the parser and the mapping', () => {
    const r = rng(3);
    let mapped = 0;
    for (let n = 0; n < 3000; n++) {
      const v = V[['A', 'B', 'C', 'D', 'E'][n % 5]!]!;
      const seg = mutate(Buffer.from(v.slice(6, -4), 'latin1'), r)
        .toString('latin1')
        .replace(/\r\n/g, '');
      const p = parseSegment(seg);
      if (!p.ok) continue;
      const m = mapPacket(p.packet, DEVICE, {
        factors: FACTORS,
        timeZone: 'Asia/Shanghai',
        receivedAt: 1_700_000_000_000,
      });
      for (const { reading } of m.readings)
        for (const x of Object.values(reading.metrics)) expect(Number.isFinite(x)).toBe(true);
      mapped += m.readings.length;
    }
    expect(mapped).toBeGreaterThan(1000);
  });

  it('hostile shapes: endless "#", endless digits, a huge declared length, CRLF floods', () => {
    const r = rng(4);
    const shapes = [
      Buffer.alloc(100_000, 0x23),
      Buffer.concat([Buffer.from('##'), Buffer.alloc(100_000, 0x30)]),
      Buffer.from(`##9999${'x'.repeat(20_000)}`),
      Buffer.from('\r\n'.repeat(50_000)),
      Buffer.from('##0000\r\n'.repeat(5000)),
      Buffer.from(`##0004abcd\r\n`.repeat(5000)),
    ];
    for (const s of shapes) consume(s, r);
  });
});
