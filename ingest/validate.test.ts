import { describe, expect, it } from 'vitest';
import { validateMessage } from './validate.js';

const opts = { maxPayloadBytes: 1024 };
const topic = 'city/v1/xinhua/noise/nz-1/readings';
const v = (t: string, p: unknown) =>
  validateMessage(t, Buffer.from(typeof p === 'string' ? p : JSON.stringify(p)), opts);

describe('validateMessage', () => {
  it('accepts one reading with epoch ms and takes district, kind and device from the topic', () => {
    const r = v(topic, { ts: 1780000000000, seq: 4, metrics: { laeq_db: 55.2, lmax_db: 70 } });
    expect(r).toEqual({
      ok: true,
      readings: [
        {
          district: 'xinhua',
          kind: 'noise',
          deviceId: 'nz-1',
          ts: 1780000000000,
          seq: 4,
          metrics: { laeq_db: 55.2, lmax_db: 70 },
        },
      ],
    });
  });

  it('accepts ISO-8601 timestamps with a zone and converts them to epoch ms', () => {
    const r = v(topic, { ts: '2026-06-01T08:00:00+08:00', metrics: { laeq_db: 50 } });
    expect(r.ok && r.readings[0]!.ts).toBe(Date.parse('2026-06-01T00:00:00Z'));
  });

  it('rejects a local time without a zone: the instant would be ambiguous', () => {
    expect(v(topic, { ts: '2026-06-01T08:00:00', metrics: { laeq_db: 50 } }).ok).toBe(false);
  });

  it('accepts batches', () => {
    const r = v(topic, {
      batch: [
        { ts: 1780000000000, metrics: { laeq_db: 1 } },
        { ts: 1780000001000, metrics: { laeq_db: 2 } },
      ],
    });
    expect(r.ok && r.readings.map((x) => x.ts)).toEqual([1780000000000, 1780000001000]);
  });

  it.each([
    ['bad JSON', topic, '{"ts":', /not valid JSON/],
    ['string value', topic, { ts: 1780000000000, metrics: { laeq_db: '50' } }, /^metrics\.laeq_db: /],
    ['null value', topic, { ts: 1780000000000, metrics: { laeq_db: null } }, /metrics\.laeq_db/],
    ['seconds instead of ms', topic, { ts: 1780000000, metrics: { laeq_db: 1 } }, /2000\.\.2100/],
    ['fractional ms', topic, { ts: 1780000000000.5, metrics: { laeq_db: 1 } }, /integer/],
    [
      'unknown metric',
      topic,
      { ts: 1780000000000, metrics: { pm10_ugm3: 1 } },
      /unknown metric "pm10_ugm3" for kind noise/,
    ],
    // An inherited name of a plain object is no metric either (was taken: `"constructor" in {...}` is true).
    [
      'inherited name as metric',
      topic,
      { ts: 1780000000000, metrics: { constructor: 1 } },
      /unknown metric "constructor" for kind noise/,
    ],
    [
      'unknown kind',
      'city/v1/x/radar/d/readings',
      { ts: 1780000000000, metrics: { a: 1 } },
      /unknown sensor kind "radar"/,
    ],
    [
      'bad device id',
      'city/v1/x/noise/d d/readings',
      { ts: 1780000000000, metrics: { laeq_db: 1 } },
      /invalid device id/,
    ],
    ['wrong root', 'town/v1/x/noise/d/readings', { ts: 1780000000000, metrics: { laeq_db: 1 } }, /topic must be/],
    [
      'batch too large',
      topic,
      { batch: Array.from({ length: 1001 }, () => ({ ts: 1780000000000, metrics: { laeq_db: 1 } })) },
      /exceeds the limit|batch/,
    ],
  ])('rejects %s with a reason', (_name, t, p, reason) => {
    const r = validateMessage(t, Buffer.from(typeof p === 'string' ? p : JSON.stringify(p)), {
      maxPayloadBytes: 1 << 20,
    });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(reason);
  });

  it('refuses an oversize payload before parsing it', () => {
    const r = v(topic, { ts: 1780000000000, metrics: { laeq_db: 1 }, pad: 'x'.repeat(2000) });
    expect(!r.ok && r.reason).toMatch(/exceeds the limit of 1024/);
  });
});
