import { describe, expect, it } from 'vitest';
import type { StoredReading } from '../../contracts/index.js';
import { LineBatch, ReadingLines } from './lines.js';

/** A batch of all the readings, cut into bodies from line `from` to line `to`. */
class Encoder {
  private readonly lines = new ReadingLines();
  bodies(readings: readonly StoredReading[], from: number, to: number, maxLines: number, maxBytes: number): string[] {
    const batch = new LineBatch(this.lines);
    batch.add(readings);
    return batch.bodies(from, to, maxLines, maxBytes).map((b) => b.toString());
  }
}

const noise = (ts: number, seq?: number, metrics: Record<string, number> = { laeq_db: 63.4 }): StoredReading => ({
  district: 'xinhua',
  kind: 'noise',
  deviceId: 'nz-xinhua-001',
  ts,
  seq,
  metrics,
});

describe('ReadingLines', () => {
  it('writes the schema of docs/influxdb.md: metrics as floats, seq (-1 without one), flags, ms timestamp', () => {
    const enc = new Encoder();
    const dust: StoredReading = {
      district: 'xinhua',
      kind: 'dust',
      deviceId: 'ds-xinhua-site-03',
      ts: 1795770000000,
      metrics: { pm25_ugm3: 412, pm10_ugm3: 530.25 },
      flags: { pm25_ugm3: 'C', pm10_ugm3: 'C' },
    };
    const readings = [noise(1795770000000, 1024, { laeq_db: 63.4, lmax_db: 74 }), dust];
    expect(enc.bodies(readings, 0, 2, 5000, 1 << 20)).toEqual([
      'noise,device=nz-xinhua-001,district=xinhua laeq_db=63.4,lmax_db=74,seq=1024i 1795770000000\n' +
        'dust,device=ds-xinhua-site-03,district=xinhua pm25_ugm3=412,pm10_ugm3=530.25,seq=-1i,' +
        'pm25_ugm3__flag="C",pm10_ugm3__flag="C" 1795770000000',
    ]);
  });

  it('escapes tags once per device, including characters outside ASCII, and writes zero and large integers', () => {
    const enc = new Encoder();
    const r: StoredReading = { ...noise(0, 0), deviceId: 'gate 7,东门', district: '新华=区' };
    const [body] = enc.bodies([r, { ...r, ts: 9007199254740991, seq: 1e15 }], 0, 2, 10, 1000);
    expect(body!.split('\n')).toEqual([
      'noise,device=gate\\ 7\\,东门,district=新华\\=区 laeq_db=63.4,seq=0i 0',
      'noise,device=gate\\ 7\\,东门,district=新华\\=区 laeq_db=63.4,seq=1000000000000000i 9007199254740991',
    ]);
  });

  it('cuts bodies at the line and byte limits, counting the newline, and keeps every line once', () => {
    const enc = new Encoder();
    const readings = Array.from({ length: 10 }, (_, i) => noise(1_000_000_000_000 + i, i));
    const one = enc.bodies(readings, 0, 1, 5, 1000)[0]!;
    const size = Buffer.byteLength(one) + 1;
    expect(enc.bodies(readings, 0, 10, 4, 1 << 20).map((b) => b.split('\n').length)).toEqual([4, 4, 2]);
    // Three lines fit exactly (3 * size bytes with their newlines), the fourth starts the next body.
    expect(enc.bodies(readings, 0, 10, 100, 3 * size).map((b) => b.split('\n').length)).toEqual([3, 3, 3, 1]);
    // A line longer than the byte limit is a body of its own.
    expect(enc.bodies(readings, 2, 5, 100, 10)).toHaveLength(3);
    const all = enc
      .bodies(readings, 0, 10, 3, 1 << 20)
      .join('\n')
      .split('\n');
    expect(all).toEqual(readings.map((r) => enc.bodies([r], 0, 1, 1, 1000)[0]));
  });

  it('grows its buffer and its line index for a batch larger than they are', () => {
    const enc = new Encoder();
    const readings = Array.from({ length: 30_000 }, (_, i) => noise(1_700_000_000_000 + i, i));
    const bodies = enc.bodies(readings, 0, readings.length, 5000, 4 * 1024 * 1024);
    expect(bodies).toHaveLength(6);
    const lines = bodies.join('\n').split('\n');
    expect(lines).toHaveLength(30_000);
    expect(lines[29_999]).toBe('noise,device=nz-xinhua-001,district=xinhua laeq_db=63.4,seq=29999i 1700000029999');
    expect(enc.bodies(readings, 5, 6, 5000, 1000)).toEqual([lines[5]]);
  });

  it('gives the same bodies for readings added message by message as added at once', () => {
    const shared = new ReadingLines();
    const readings = Array.from({ length: 2500 }, (_, i) => noise(1_700_000_000_000 + i, i));
    const whole = new LineBatch(shared);
    whole.add(readings);
    const pieces = new LineBatch(shared);
    for (let i = 0; i < readings.length; i += 100) pieces.add(readings.slice(i, i + 100));
    expect(pieces.count).toBe(2500);
    expect(pieces.bodies(0, 2500, 1000, 1 << 20)).toEqual(whole.bodies(0, 2500, 1000, 1 << 20));
    expect(pieces.bodies(1250, 2500, 5000, 1 << 20)).toEqual(whole.bodies(1250, 2500, 5000, 1 << 20));
  });

  it('writes a reading without metrics as its seq alone', () => {
    expect(new Encoder().bodies([noise(5, undefined, {})], 0, 1, 1, 100)).toEqual([
      'noise,device=nz-xinhua-001,district=xinhua seq=-1i 5',
    ]);
  });
});
