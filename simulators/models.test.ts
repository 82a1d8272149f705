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
});
