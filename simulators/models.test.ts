import { describe, expect, it } from 'vitest';
import { KINDS, METRICS } from '../contracts/index.js';
import { createModel } from './models.js';

describe('sensor models', () => {
  it('are deterministic in (seed, device, ts) and produce every metric of their kind', () => {
    for (const kind of KINDS) {
      const a = createModel(kind, 'dev-1', 5);
      const b = createModel(kind, 'dev-1', 5);
      const ts = Date.parse('2026-06-01T10:00:00Z');
      expect(a.metrics(ts)).toEqual(b.metrics(ts));
      expect(Object.keys(a.metrics(ts)).sort()).toEqual(Object.keys(METRICS[kind]).sort());
      expect(Object.values(a.metrics(ts)).every(Number.isFinite)).toBe(true);
    }
  });

  it('inject incidents that show in the values, and report them', () => {
    const m = createModel('manhole', 'mh-7', 1);
    const start = Date.parse('2026-06-01T00:00:00Z');
    let found = 0;
    for (let t = start; t < start + 30 * 86_400_000; t += 60_000) {
      const inc = m.incidentAt(t);
      if (inc) {
        found++;
        expect(m.metrics(t).open).toBe(1);
        expect(m.metrics(t).tilt_deg).toBeGreaterThan(15);
      } else expect(m.metrics(t).open).toBe(0);
    }
    expect(found).toBeGreaterThan(0);
  });

  it('follow the day: traffic noise is louder at 08:00 than at 03:00 local time', () => {
    const m = createModel('noise', 'nz-1', 9);
    const at = (h: number) => Date.parse(`2026-06-0${2}T${String(h).padStart(2, '0')}:00:00+08:00`);
    expect(m.metrics(at(8)).laeq_db).toBeGreaterThan(m.metrics(at(3)).laeq_db! + 10);
  });

  it('let incidents of different types overlap: both are reported and both show in the values', () => {
    const start = Date.parse('2026-06-01T00:00:00+08:00');
    let both = 0;
    let offset = 0;
    // The humidity's daily cycle in the model, without noise: what the offset is measured against.
    const usualRh = (t: number) =>
      60 - 15 * Math.sin(((((t + 8 * 3_600_000) % 86_400_000) / 3_600_000 - 9) / 24) * 2 * Math.PI);
    for (const id of ['ds-1', 'ds-2', 'ds-3', 'ds-4']) {
      const m = createModel('dust', id, 42);
      for (let t = start; t < start + 28 * 86_400_000; t += 300_000) {
        const types = m.incidentsAt(t).map((i) => i.type);
        expect(m.incidentAt(t)?.type).toBe(types[0]);
        if (types.includes('dust_episode') && types.includes('recalibrated')) {
          both++;
          // The dust episode does not hide the humidity offset (+10 %RH).
          offset += m.metrics(t).rh_pct! - usualRh(t);
          expect(m.metrics(t).pm10_ugm3).toBeGreaterThan(300);
        }
      }
    }
    expect(both).toBeGreaterThan(0);
    expect(offset / both).toBeGreaterThan(8);
    expect(offset / both).toBeLessThan(12);
  });

  it('label the anomaly detector’s cases with their metric, and place weekend traffic on a Saturday or Sunday', () => {
    const m = createModel('dust', 'ds-1', 7);
    const start = Date.parse('2026-06-01T00:00:00+08:00');
    const seen = new Map<string, { metric?: string; start: number }>();
    for (let t = start; t < start + 28 * 86_400_000; t += 600_000)
      for (const i of m.incidentsAt(t)) seen.set(`${i.type}@${i.start}`, i);
    const cases = [...seen.values()] as { type?: string; metric?: string; start: number }[];
    const weekend = [...seen.entries()].filter(([k]) => k.startsWith('weekend_traffic'));
    expect(weekend.length).toBeGreaterThan(0);
    for (const [, i] of weekend) {
      expect(i.metric).toBe('pm25_ugm3');
      const local = new Date(i.start + 8 * 3_600_000);
      expect([0, 6]).toContain(local.getUTCDay());
      expect(local.getUTCHours()).toBe(7);
    }
    expect(cases.length).toBeGreaterThan(weekend.length);
  });
});
