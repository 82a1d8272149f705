import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiskQueue, type DiskQueueOptions } from './buffer.js';

const opts = (o: Partial<DiskQueueOptions> = {}): DiskQueueOptions => ({
  maxBytes: 1 << 20,
  segmentBytes: 256,
  cursorSaveMs: 10_000,
  fsyncMs: 0,
  ...o,
});
const dir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'city-buffer-'));
const rec = (i: number) => JSON.stringify({ ts: i, metrics: { v: i } });

describe('DiskQueue', () => {
  it('hands records out in order across segments and forgets them once acknowledged', () => {
    const d = dir();
    const q = DiskQueue.open(d, opts());
    for (let i = 0; i < 50; i++) q.append(rec(i));
    expect(fs.readdirSync(d).filter((f) => f.endsWith('.seg')).length).toBeGreaterThan(3);
    const got: string[] = [];
    for (let e = q.read(7); e.length > 0; e = q.read(7)) {
      for (const x of e) {
        got.push(x.data);
        q.ack(x);
      }
    }
    expect(got).toEqual(Array.from({ length: 50 }, (_, i) => rec(i)));
    expect(q.pendingBytes()).toBe(0);
    expect(fs.readdirSync(d).filter((f) => f.endsWith('.seg')).length).toBe(1);
    q.close();
  });

  it('after a restart resends what was not acknowledged, and nothing that was', () => {
    const d = dir();
    let q = DiskQueue.open(d, opts());
    for (let i = 0; i < 20; i++) q.append(rec(i));
    const first = q.read(10);
    // Acknowledged out of order: only the contiguous prefix 0..4 counts as delivered.
    for (const i of [0, 1, 2, 3, 4, 6, 7]) q.ack(first[i]!);
    q.close();
    q = DiskQueue.open(d, opts());
    expect(q.read(100).map((e) => e.data)).toEqual(Array.from({ length: 15 }, (_, i) => rec(i + 5)));
    expect(q.lastRecord()).toBe(rec(19));
    q.close();
  });

  it('cuts half a record left by a crash during a write', () => {
    const d = dir();
    let q = DiskQueue.open(d, opts({ segmentBytes: 1 << 20 }));
    q.append(rec(1));
    q.append(rec(2));
    q.close();
    const seg = fs.readdirSync(d).find((f) => f.endsWith('.seg'))!;
    fs.appendFileSync(path.join(d, seg), '{"ts":3,"metr');
    q = DiskQueue.open(d, opts({ segmentBytes: 1 << 20 }));
    expect(q.read(10).map((e) => e.data)).toEqual([rec(1), rec(2)]);
    expect(q.lastRecord()).toBe(rec(2));
    q.append(rec(4));
    expect(q.read(10).map((e) => e.data)).toEqual([rec(4)]);
    q.close();
  });

  it('stays within its bound by dropping the oldest segments, and counts what it dropped', () => {
    const d = dir();
    const drops: number[] = [];
    const q = DiskQueue.open(d, opts({ maxBytes: 2048, segmentBytes: 512, onDrop: (n) => drops.push(n) }));
    for (let i = 0; i < 500; i++) q.append(rec(i));
    expect(q.pendingBytes()).toBeLessThanOrEqual(2048);
    const left = q.read(1000).map((e) => JSON.parse(e.data).ts as number);
    expect(q.dropped).toBe(500 - left.length);
    expect(drops.reduce((a, b) => a + b, 0)).toBe(q.dropped);
    // What is left is the newest, still in order.
    expect(left).toEqual(Array.from({ length: left.length }, (_, i) => 500 - left.length + i));
    q.close();
  });

  it('rewind() hands out again everything not acknowledged', () => {
    const q = DiskQueue.open(dir(), opts());
    for (let i = 0; i < 5; i++) q.append(rec(i));
    const a = q.read(3);
    q.ack(a[0]!);
    q.rewind();
    q.ack(a[1]!); // a void entry from before the rewind changes nothing
    expect(q.read(10).map((e) => e.data)).toEqual([rec(1), rec(2), rec(3), rec(4)]);
    q.close();
  });
});
