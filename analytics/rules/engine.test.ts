// Every default rule against crafted series: values at the boundary, durations just under and over, flapping
// around the clear level, day/night edges, tiers up and down.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SensorKind, Signal, StoredReading } from '../../contracts/index.js';
import { RuleEngine } from './engine.js';
import { RulesFileSchema, type RulesFile } from './schema.js';
import { RollingWindow } from './window.js';

const file: RulesFile = RulesFileSchema.parse(
  JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '../../config/rules.json'), 'utf8')),
);

/** Local (Asia/Shanghai) time on 2026-06-01 as epoch ms. */
const at = (hhmm: string, plusS = 0) => Date.parse(`2026-06-01T${hhmm}:00+08:00`) + plusS * 1000;

function feed(
  engine: RuleEngine,
  device: string,
  kind: SensorKind,
  start: number,
  stepS: number,
  values: Record<string, number>[],
): Signal[] {
  const out: Signal[] = [];
  values.forEach((metrics, i) => {
    const r: StoredReading = { district: 'xinhua', kind, deviceId: device, ts: start + i * stepS * 1000, metrics };
    engine.process(r, out);
  });
  return out;
}
const rep = <T>(n: number, v: T): T[] => Array.from({ length: n }, () => v);
// Start-up clears (Signal.initial) are left out: they only resolve alerts left open across a restart.
const only = (sigs: Signal[], rule: string) =>
  sigs.filter((s) => s.ruleId === rule && !s.initial).map((s) => `${s.type}:${s.severity}`);

describe('shipped rules file', () => {
  it('is valid and names a standard for every rule', () => {
    expect(file.rules.length).toBeGreaterThanOrEqual(12);
    for (const r of file.rules) expect(r.standard.length).toBeGreaterThan(10);
    for (const kind of ['noise', 'dust', 'fume', 'drainage', 'manhole'])
      expect(file.rules.some((r) => r.kind === kind)).toBe(true);
  });
});

describe('RollingWindow', () => {
  it('energy-averages dB (LAeq), not the arithmetic mean', () => {
    const w = new RollingWindow('leq', 60_000);
    w.push(0, 50);
    const leq = w.push(1000, 70);
    expect(leq).toBeCloseTo(10 * Math.log10((10 ** 5 + 10 ** 7) / 2), 6); // 67.0, not 60
  });
  it('forgets samples that left the window and tracks max', () => {
    const w = new RollingWindow('max', 10_000);
    expect(w.push(0, 9)).toBe(9);
    expect(w.push(5000, 3)).toBe(9);
    expect(w.push(10_000, 4)).toBe(4);
    const m = new RollingWindow('mean', 10_000);
    for (let i = 0; i < 1000; i++) m.push(i * 1000, i);
    expect(m.size).toBe(10);
    expect(m.push(1_000_000, 0)).toBeCloseTo((991 + 992 + 993 + 994 + 995 + 996 + 997 + 998 + 999 + 0) / 10, 6);
  });
});

describe('noise, GB 3096 (demo devices nz-* are class 4a; others class 2)', () => {
  it('class 2 by day: 61 dB for 5 min fires, 59 never does, and it clears below 58 (hysteresis)', () => {
    const e = new RuleEngine(file);
    expect(
      only(feed(e, 'meter-a', 'noise', at('10:00'), 10, rep(60, { laeq_db: 59.9 })), 'noise.gb3096.class2'),
    ).toEqual([]);
    const e2 = new RuleEngine(file);
    const up = feed(e2, 'meter-b', 'noise', at('10:00'), 10, rep(40, { laeq_db: 61 }));
    expect(only(up, 'noise.gb3096.class2')).toEqual(['fire:warning']);
    expect(up.find((s) => s.type === 'fire')!.ts).toBe(at('10:00', 300)); // after forS = 300 s, not before
    // Leq over 15 min falls slowly; flapping around 59 (between clear 58 and level 60) changes nothing.
    const flap = feed(e2, 'meter-b', 'noise', at('10:00', 400), 10, rep(30, { laeq_db: 59 }));
    expect(only(flap, 'noise.gb3096.class2')).toEqual([]);
    const down = feed(e2, 'meter-b', 'noise', at('10:00', 700), 10, rep(120, { laeq_db: 50 }));
    expect(only(down, 'noise.gb3096.class2')).toEqual(['clear:warning']);
  });

  it('a condition just shorter than forS does not fire', () => {
    const e = new RuleEngine(file);
    const s = feed(e, 'meter-c', 'noise', at('10:00'), 10, [...rep(30, { laeq_db: 75 }), ...rep(200, { laeq_db: 40 })]);
    // 30 readings of 75 dB = 290 s, and the 15-min Leq drops under 60 quickly after: compute what Leq does.
    expect(only(s, 'noise.gb3096.class2')).toEqual(['fire:warning', 'clear:warning']);
    const e2 = new RuleEngine(file);
    const s2 = feed(e2, 'meter-d', 'noise', at('10:00'), 100, [{ laeq_db: 90 }, { laeq_db: 90 }, { laeq_db: 30 }]);
    expect(only(s2, 'noise.gb3096.class2')).toEqual([]); // 200 s above: under forS
  });

  it('uses the night limit from 22:00 local time: 53 dB is fine at 21:50 and over the limit at 22:10', () => {
    const e = new RuleEngine(file);
    expect(
      only(feed(e, 'meter-e', 'noise', at('21:30'), 10, rep(100, { laeq_db: 53 })), 'noise.gb3096.class2'),
    ).toEqual([]);
    const e2 = new RuleEngine(file);
    expect(
      only(feed(e2, 'meter-f', 'noise', at('22:10'), 10, rep(60, { laeq_db: 53 })), 'noise.gb3096.class2'),
    ).toEqual(['fire:warning']);
  });

  it('class 4a devices get their own limits instead of class 2', () => {
    const e = new RuleEngine(file);
    const s = feed(e, 'nz-xinhua-001', 'noise', at('10:00'), 10, rep(60, { laeq_db: 65 }));
    expect(s.filter((x) => !x.initial)).toEqual([]);
    const n = feed(e, 'nz-xinhua-001', 'noise', at('23:00'), 10, rep(60, { laeq_db: 60 }));
    expect(only(n, 'noise.gb3096.class4a')).toEqual(['fire:warning']);
  });

  it('class 1 and construction-site groups: their own limits, cases for the site', () => {
    const groups = { ...file.groups, 'noise-class-1': { devices: ['school-*'], districts: [] } };
    const e = new RuleEngine({ ...file, groups });
    expect(
      only(feed(e, 'school-1', 'noise', at('10:00'), 10, rep(60, { laeq_db: 56 })), 'noise.gb3096.class1'),
    ).toEqual(['fire:warning']);
    const site = feed(e, 'site-nz-1', 'noise', at('23:00'), 10, rep(60, { laeq_db: 57 }));
    expect(only(site, 'noise.gb12523.site')).toEqual(['fire:major']);
    expect(site.find((x) => x.ruleId === 'noise.gb12523.site')).toMatchObject({ caseWorthy: true, caseCode: '0301' });
  });

  it('night Lmax: limit + 15 only at night', () => {
    const e = new RuleEngine(file);
    expect(
      only(feed(e, 'meter-g', 'noise', at('12:00'), 10, rep(5, { lmax_db: 80 })), 'noise.gb3096.night-lmax'),
    ).toEqual([]);
    const s = feed(e, 'meter-g', 'noise', at('23:00'), 10, [{ lmax_db: 66 }, { lmax_db: 66 }, { lmax_db: 60 }]);
    expect(only(s, 'noise.gb3096.night-lmax')).toEqual(['fire:warning', 'clear:warning']);
    // Leaving the night period clears an active night-only alert.
    const e2 = new RuleEngine(file);
    feed(e2, 'meter-h', 'noise', at('05:50'), 60, rep(3, { lmax_db: 80 }));
    expect(only(feed(e2, 'meter-h', 'noise', at('06:01'), 60, [{ lmax_db: 80 }]), 'noise.gb3096.night-lmax')).toEqual([
      'clear:warning',
    ]);
  });
});

describe('dust, fume, drainage, manhole', () => {
  it('dust PM10: warning past 80, escalates past 150, de-escalates with hysteresis, clears', () => {
    const e = new RuleEngine(file);
    const s = feed(e, 'ds-1', 'dust', at('10:00'), 60, [
      ...rep(6, { pm10_ugm3: 100 }),
      ...rep(20, { pm10_ugm3: 400 }),
      ...rep(20, { pm10_ugm3: 60 }),
    ]);
    expect(only(s, 'dust.db13-2934.pm10')).toEqual([
      'fire:warning',
      'escalate:major',
      'deescalate:warning',
      'clear:warning',
    ]);
  });

  it('dust TSP 0.8 mg/m³ over 5 minutes', () => {
    const e = new RuleEngine(file);
    expect(only(feed(e, 'ds-2', 'dust', at('10:00'), 30, rep(20, { tsp_ugm3: 790 })), 'dust.db21-2642.tsp')).toEqual(
      [],
    );
    expect(only(feed(e, 'ds-3', 'dust', at('10:00'), 30, rep(20, { tsp_ugm3: 900 })), 'dust.db21-2642.tsp')).toEqual([
      'fire:major',
    ]);
  });

  it('fume concentration and a purifier off while the fan runs', () => {
    const e = new RuleEngine(file);
    expect(only(feed(e, 'fm-1', 'fume', at('12:00'), 30, rep(20, { fume_mgm3: 2.0 })), 'fume.gb18483')).toEqual([]);
    expect(only(feed(e, 'fm-2', 'fume', at('12:00'), 30, rep(20, { fume_mgm3: 2.5 })), 'fume.gb18483')).toEqual([
      'fire:warning',
    ]);
    const off = feed(e, 'fm-3', 'fume', at('12:00'), 30, [
      ...rep(20, { purifier_on: 0, fan_on: 0 }), // closed kitchen: nothing
      ...rep(20, { purifier_on: 0, fan_on: 1 }), // cooking without the purifier
      ...rep(3, { purifier_on: 1, fan_on: 1 }),
    ]);
    expect(only(off, 'fume.purifier-off')).toEqual(['fire:warning', 'clear:warning']);
  });

  it('waterlogging tiers yellow → orange → red and back down with hysteresis', () => {
    const e = new RuleEngine(file);
    const levels = [10, 16, 16, 18, 26, 26, 41, 41, 38, 36, 36, 23, 23, 21, 21, 13, 11, 11];
    const s = feed(
      e,
      'dr-1',
      'drainage',
      at('10:00'),
      60,
      levels.map((level_cm) => ({ level_cm })),
    );
    expect(only(s, 'drainage.waterlogging')).toEqual([
      'fire:warning',
      'escalate:major',
      'escalate:critical',
      'deescalate:major',
      'deescalate:warning',
      'clear:warning',
    ]);
    expect(s.find((x) => x.severity === 'critical')!.tierLabel).toMatch(/红/);
  });

  it('manhole tilt ignores a shock under 2 s; open and low battery alarm', () => {
    const e = new RuleEngine(file);
    expect(
      only(feed(e, 'mh-1', 'manhole', at('10:00'), 1, [{ tilt_deg: 30 }, { tilt_deg: 0.5 }]), 'manhole.tilt'),
    ).toEqual([]);
    expect(
      only(
        feed(e, 'mh-2', 'manhole', at('10:00'), 1, [{ tilt_deg: 30 }, { tilt_deg: 30 }, { tilt_deg: 30 }]),
        'manhole.tilt',
      ),
    ).toEqual(['fire:major']);
    expect(only(feed(e, 'mh-3', 'manhole', at('10:00'), 60, [{ open: 0 }, { open: 1 }]), 'manhole.open')).toEqual([
      'fire:critical',
    ]);
    expect(
      only(
        feed(e, 'mh-5', 'manhole', at('10:00'), 60, [
          { water_cm: 79 },
          { water_cm: 81 },
          { water_cm: 82 },
          { water_cm: 74 },
        ]),
        'manhole.water',
      ),
    ).toEqual(['fire:warning', 'clear:warning']);
    expect(
      only(
        feed(e, 'mh-4', 'manhole', at('10:00'), 3600, [{ battery_pct: 19 }, { battery_pct: 18 }]),
        'manhole.battery',
      ),
    ).toEqual(['fire:info']);
  });

  it('the first normal reading of a series after start sends a clear, to resolve alerts left open by a restart', () => {
    const e = new RuleEngine(file);
    const s = feed(e, 'dr-9', 'drainage', at('10:00'), 60, [{ level_cm: 5 }, { level_cm: 5 }]);
    expect(s.map((x) => `${x.type}:${x.ruleId}:${x.initial}`)).toEqual(['clear:drainage.waterlogging:true']);
  });

  it('a reading seen twice (redelivery) changes nothing', () => {
    const e = new RuleEngine(file);
    const r: StoredReading = {
      district: 'x',
      kind: 'manhole',
      deviceId: 'mh-9',
      ts: at('10:00'),
      metrics: { open: 1 },
    };
    expect(e.process(r).length).toBe(1);
    expect(e.process(r).length).toBe(0);
  });
});
