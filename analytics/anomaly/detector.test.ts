import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAnomalyDetector, resolveOptions, DEFAULT_OPTIONS, MEMBER_DEFAULTS } from './detector.js';
import { dailyMember } from './members.js';
import { Likelihoods, logScale } from './likelihood.js';
import { erfc, normalTail, rollingCells, rollingMean, rollingPush, rollingVariance } from './stats.js';

const FIVE_MIN = 300_000;

/** A deterministic pseudo-random generator (LCG), so that the tests are reproducible. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A daily-cycle series with noise, a spike at 2500 and a level shift from 3200. */
function series(n: number, seed = 1): { ts: number[]; values: number[] } {
  const r = rng(seed);
  const ts: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    ts.push(Date.UTC(2026, 0, 1) + i * FIVE_MIN);
    let v = 50 + 20 * Math.sin((2 * Math.PI * i) / 288) + 3 * (r() - 0.5);
    if (i === 2500) v += 60;
    if (i >= 3200) v += 15;
    values.push(v);
  }
  return { ts, values };
}

function run(ts: number[], values: number[]): number[] {
  const d = createAnomalyDetector();
  return values.map((v, i) => d.update(ts[i] as number, v));
}

describe('streaming anomaly detector', () => {
  it('scores in [0, 1], whatever the input', () => {
    const r = rng(7);
    const d = createAnomalyDetector();
    const weird = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e300, -1e300, 0, -0, 5e-324];
    for (let i = 0; i < 20_000; i++) {
      const v =
        i % 97 === 0
          ? (weird[i % weird.length] as number)
          : i % 500 < 50
            ? 42
            : (r() - 0.5) * 10 ** Math.floor(r() * 6);
      // timestamps that repeat, go backwards and jump
      const t = i % 13 === 0 ? Number.NaN : Date.UTC(2026, 0, 1) + (i - (i % 3 === 0 ? 5 : 0)) * FIVE_MIN;
      const s = d.update(t, v);
      expect(Number.isFinite(s)).toBe(true);
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThanOrEqual(1);
    }
  });

  it('scores 0 for non-finite values, without learning from them', () => {
    const { ts, values } = series(1000);
    const a = createAnomalyDetector();
    const b = createAnomalyDetector();
    for (let i = 0; i < values.length; i++) {
      const t = ts[i] as number;
      const v = values[i] as number;
      if (i % 10 === 0) expect(b.update(t, Number.NaN)).toBe(0);
      expect(b.update(t, v)).toBe(a.update(t, v));
    }
  });

  it('is causal: the score at t does not change when later readings change', () => {
    const { ts, values } = series(4000);
    const base = run(ts, values);
    const r = rng(99);
    for (const cut of [500, 2499, 3300]) {
      const changed = values.map((v, i) => (i > cut ? v * (r() * 4 - 1) + 1000 * r() : v));
      const scores = run(ts, changed);
      expect(scores.slice(0, cut + 1)).toEqual(base.slice(0, cut + 1));
      // and running only the prefix gives the same scores
      expect(run(ts.slice(0, cut + 1), values.slice(0, cut + 1))).toEqual(base.slice(0, cut + 1));
    }
  });

  it('is deterministic and independent between instances', () => {
    const { ts, values } = series(3000, 3);
    expect(run(ts, values)).toEqual(run(ts, values));
  });

  it('flags a spike and a level shift more than the normal readings', () => {
    const { ts, values } = series(4000);
    const s = run(ts, values);
    const normal = Math.max(...s.slice(1000, 2490));
    expect(Math.max(...s.slice(2500, 2510))).toBeGreaterThan(normal);
    expect(Math.max(...s.slice(3200, 3260))).toBeGreaterThan(normal);
  });

  it('damps the scores that follow an alarm (one event, one alarm)', () => {
    const ts = Array.from({ length: 1000 }, (_, i) => i * FIVE_MIN);
    const values = ts.map((_, i) => (i % 7) + (i >= 800 ? 100 + i : 0));
    const s = run(ts, values);
    expect(s[800]).toBe(1);
    for (let i = 801; i <= 820; i++) expect(s[i]).toBeLessThanOrEqual(0.1);
  });

  it('has a fixed state size: set by the options, not by the length of the series', () => {
    const d = createAnomalyDetector();
    const before = d.stateSize;
    const { ts, values } = series(20_000);
    values.forEach((v, i) => d.update(ts[i] as number, v));
    expect(d.stateSize).toBe(before);
    expect(createAnomalyDetector({ levelShift: null }).stateSize).toBeLessThan(before);
  });

  it('keeps its state within 4 KB a series', () => {
    expect(createAnomalyDetector().stateBytes).toBeLessThanOrEqual(4096);
  });

  it('continues after a restart exactly as if it had never stopped (saved and restored state)', () => {
    const { ts, values } = series(6000, 4);
    const whole = run(ts, values);
    const a = createAnomalyDetector();
    const first = values.slice(0, 3000).map((v, i) => a.update(ts[i] as number, v));
    const saved = a.save();
    const b = createAnomalyDetector();
    b.restore(Float64Array.from(saved));
    const rest = values.slice(3000).map((v, i) => b.update(ts[3000 + i] as number, v));
    expect([...first, ...rest]).toEqual(whole);
    // a state saved with other options is refused, not misread
    expect(() => createAnomalyDetector({ weekly: null }).restore(saved)).toThrow(/options/);
  });

  it('says which model fired and the band it expected', () => {
    const { ts, values } = series(4000);
    const d = createAnomalyDetector();
    let atSpike = d.explain();
    values.forEach((v, i) => {
      d.update(ts[i] as number, v);
      if (i === 2500) atSpike = d.explain();
    });
    expect(atSpike.score).toBeGreaterThanOrEqual(0.5);
    expect(atSpike.observed).toBe(values[2500]);
    expect(atSpike.expected).toBeDefined();
    expect(atSpike.observed).toBeGreaterThan(atSpike.expected!.high);
    expect(['range', 'jump', 'weekly', 'level']).toContain(atSpike.model);
  });

  it('uses bounded memory: the heap does not grow with the series (measured in a child process)', () => {
    const root = path.resolve(import.meta.dirname, '..', '..');
    const script = `
      import { createAnomalyDetector } from './analytics/anomaly/detector.ts';
      const d = createAnomalyDetector();
      let s = 0;
      const feed = (from, to) => { for (let i = from; i < to; i++) s += d.update(i * 300000, Math.sin(i / 46) * 10 + (i % 17) + (i % 5000 === 0 ? 50 : 0)); };
      const heap = () => { globalThis.gc(); globalThis.gc(); return process.memoryUsage().heapUsed; };
      feed(0, 50000); const a = heap();
      feed(50000, 1050000); const b = heap();
      process.stdout.write(JSON.stringify({ a, b, s }));`;
    const out = execFileSync(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    const { a, b } = JSON.parse(out) as { a: number; b: number };
    // a million more readings: well under 1 MB of growth (an unbounded state would grow by tens of MB)
    expect(b - a).toBeLessThan(1_000_000);
  });

  it('resolves partial options over the defaults and turns components off with null', () => {
    const o = resolveOptions({ jump: { zScale: 9 }, weekly: null, rest: null });
    expect(o.jump).toEqual({ ...DEFAULT_OPTIONS.jump, zScale: 9 });
    expect(o.weekly).toBeNull();
    expect(o.rest.steps).toBe(0);
    expect(o.levelShift).toEqual(DEFAULT_OPTIONS.levelShift);
  });
});

/**
 * A crafted series: noise around 100 (with a daily cycle when `cycle`), 12 days of 5-minute readings, and `change`
 * applied from 2,880 on.
 */
function crafted(
  change: (i: number, v: number, r: () => number) => number,
  cycle = false,
  seed = 21,
): { ts: number[]; values: number[] } {
  const r = rng(seed);
  const ts: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < 12 * 288; i++) {
    ts.push(Date.UTC(2026, 0, 5) + i * FIVE_MIN);
    const v = 100 + (cycle ? 10 * Math.sin((2 * Math.PI * i) / 288) : 0) + 2 * (r() - 0.5);
    values.push(i >= 2880 ? change(i, v, r) : v);
  }
  return { ts, values };
}

/** The highest score of one member alone (its likelihood, no range break, no rest) before and after the change. */
function memberAlone(
  member: 'jump' | 'weekly' | 'levelShift',
  s: { ts: number[]; values: number[] },
  after = 2880,
  until = 2880 + 288,
) {
  const off = { jump: null, weekly: null, levelShift: null, rangeTolerance: 0, rest: null } as const;
  const d = createAnomalyDetector({ ...off, [member]: {} });
  const scores = s.values.map((v, i) => d.update(s.ts[i] as number, v));
  return { before: Math.max(...scores.slice(2016, after)), after: Math.max(...scores.slice(after, until)) };
}

describe('each member on the change it is there for', () => {
  it('a spike: the range break scores it 1; the jump member alone ranks it well above the normal readings', () => {
    const spiked = crafted((i, v) => (i === 2900 ? v + 25 : v));
    const m = memberAlone('jump', spiked);
    // One step in ten of the likelihood's average: clear, but not an alarm alone (one spike is the range break's).
    expect(m.after).toBeGreaterThan(m.before + 0.1);
    const d = createAnomalyDetector();
    let at = d.explain();
    spiked.values.forEach((v, i) => {
      d.update(spiked.ts[i] as number, v);
      if (i === 2900) at = d.explain();
    });
    expect(at).toMatchObject({ model: 'range', score: 1 });
  });

  it('jump: a change of variance (the same level, much noisier)', () => {
    const m = memberAlone(
      'jump',
      crafted((_i, v, r) => v + 12 * (r() - 0.5)),
    );
    expect(m.after).toBeGreaterThanOrEqual(0.5);
    expect(m.after).toBeGreaterThan(m.before + 0.2);
  });

  it('level: a step after the sensor was moved or recalibrated', () => {
    const m = memberAlone(
      'levelShift',
      crafted((_i, v) => v + 8),
    );
    expect(m.after).toBeGreaterThanOrEqual(0.5);
    expect(m.after).toBeGreaterThan(m.before + 0.2);
  });

  it('level: a slow drift (1 unit an hour)', () => {
    const m = memberAlone(
      'levelShift',
      crafted((i, v) => v + (i - 2880) / 12),
      2880,
      2880 + 288,
    );
    expect(m.after).toBeGreaterThanOrEqual(0.5);
    expect(m.after).toBeGreaterThan(m.before + 0.2);
  });

  it('weekly: a broken daily cycle (the cycle stops, the level stays within the usual range)', () => {
    const m = memberAlone(
      'weekly',
      crafted((_i, _v, r) => 100 + 2 * (r() - 0.5), true),
    );
    expect(m.after).toBeGreaterThanOrEqual(0.5);
    expect(m.after).toBeGreaterThan(m.before + 0.2);
  });

  it('none of them alarms on the unchanged cycle', () => {
    for (const cycle of [false, true]) {
      const same = crafted((_i, v) => v, cycle);
      for (const member of ['jump', 'weekly', 'levelShift'] as const)
        expect(memberAlone(member, same).after).toBeLessThan(0.5);
    }
  });
});

describe('anomaly likelihood and statistics', () => {
  it('rolling statistics match a direct computation', () => {
    const r = rng(5);
    const s = new Float64Array(1 + rollingCells(50)); // at offset 1: not at the start of its array
    const xs: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const x = 1e6 + r() * 10;
      xs.push(x);
      rollingPush(s, 1, 50, x);
    }
    const last = xs.slice(-50);
    const mean = last.reduce((a, b) => a + b, 0) / 50;
    const variance = last.reduce((a, b) => a + (b - mean) ** 2, 0) / 50;
    expect(rollingMean(s, 1)).toBeCloseTo(mean, 6);
    expect(rollingVariance(s, 1)).toBeCloseTo(variance, 4);
  });

  it('erfc and the normal tail', () => {
    expect(erfc(0)).toBeCloseTo(1, 6);
    expect(erfc(1)).toBeCloseTo(0.157299207, 6);
    expect(erfc(-1)).toBeCloseTo(1.842700793, 6);
    expect(normalTail(0, 0, 1)).toBeCloseTo(0.5, 6);
    expect(normalTail(1.959964, 0, 1)).toBeCloseTo(0.025, 5);
    expect(normalTail(-1.959964, 0, 1)).toBeCloseTo(0.025, 5);
  });

  it('log scale: 0.5 → 0.03, 1 − 1e−5 → 0.5, 1 → 1', () => {
    expect(logScale(0.5)).toBeCloseTo(0.0301, 4);
    expect(logScale(1 - 1e-5)).toBeCloseTo(0.5, 4);
    expect(logScale(1)).toBeCloseTo(1, 6);
    expect(logScale(0)).toBe(0);
  });

  it('is neutral while learning, then reports one strong alarm per run of improbable values', () => {
    const bank = new Likelihoods(1, { learning: 10, estimation: 10, averaging: 1 });
    const l = { update: (raw: number) => bank.update(0, raw) };
    const r = rng(11);
    const out: number[] = [];
    for (let i = 0; i < 500; i++) out.push(l.update(0.1 + 0.05 * r()));
    expect(out[0]).toBeCloseTo(logScale(0.5), 9);
    expect(Math.max(...out.slice(100))).toBeLessThan(0.5);
    const burst = [1, 1, 1, 1].map(() => l.update(1));
    expect(burst[0]).toBeCloseTo(1, 6);
    for (const b of burst.slice(1)) expect(b).toBeCloseTo(logScale(0.999), 9);
  });

  it("daily: no opinion on a time of day until it has been seen on minDays days, so one day's incident is outvoted", () => {
    const daily = dailyMember({ ...MEMBER_DEFAULTS.daily, minDays: 3 });
    const day0 = Date.parse('2026-06-01T00:00:00Z');
    // Hourly readings, the same value every day, except a one-off +50 on the first day at 12:00.
    const at = (d: number, h: number) =>
      daily.update(day0 + d * 86_400_000 + h * 3_600_000, h === 12 && d === 0 ? 150 : 100 + ((d * 7 + h) % 5) / 10);
    for (let d = 0; d < 3; d++) for (let h = 0; h < 24; h++) expect(at(d, h)).toBeNull();
    for (let h = 0; h < 12; h++) at(3, h);
    // Day 4 at 12:00: the median of 150, 100, 100 is 100: the usual value is not yesterday's incident.
    expect(at(3, 12)).not.toBeNull();
    const { low, high } = daily.expected()!;
    expect((low + high) / 2).toBeGreaterThanOrEqual(100);
    expect((low + high) / 2).toBeLessThan(101);
  });

  it('daily: with two days seen, a reading like either day is usual; unlike both, it is a surprise', () => {
    const daily = dailyMember({ ...MEMBER_DEFAULTS.daily, minDays: 2 });
    const day0 = Date.parse('2026-06-01T00:00:00Z');
    // Hourly readings; day 0 had an incident at 12:00 (150 instead of about 100).
    const value = (d: number, h: number) => (h === 12 && d === 0 ? 150 : 100 + ((d * 7 + h) % 5) / 10);
    const at = (d: number, h: number, x = value(d, h)) => daily.update(day0 + d * 86_400_000 + h * 3_600_000, x);
    for (let d = 0; d < 2; d++) for (let h = 0; h < 24; h++) expect(at(d, h)).toBeNull();
    for (let h = 0; h < 12; h++) expect(at(2, h)).not.toBeNull();
    const usualAtNoon = at(2, 12); // 100, like day 1: not yesterday's incident expected again
    at(2, 13);
    const stepAt14 = at(2, 14, 130); // like neither day (100.x, 100.x)
    expect(usualAtNoon).toBeLessThan(0.5);
    expect(stepAt14).toBeGreaterThan(0.9);
  });

  it("daily: from the third day a robust usual value: another day's incident moves it by a few of the slot's deviations at most", () => {
    const o = { ...MEMBER_DEFAULTS.daily, minDays: 3 };
    const daily = dailyMember(o);
    const day0 = Date.parse('2026-06-01T00:00:00Z');
    // Hourly readings about 100; a +200 incident at 12:00 on day 5 (well after the first three days).
    const value = (d: number, h: number) => (h === 12 && d === 5 ? 300 : 100 + ((d * 7 + h) % 5) / 10);
    const at = (d: number, h: number, x = value(d, h)) => daily.update(day0 + d * 86_400_000 + h * 3_600_000, x);
    for (let d = 0; d < 6; d++) for (let h = 0; h < 24; h++) at(d, h);
    for (let h = 0; h < 12; h++) at(6, h);
    // Day 6 at 12:00: the usual value moved by at most rate · clip · the slot's deviation (under 1), not towards 300.
    const usual = at(6, 12);
    const { low, high } = daily.expected()!;
    expect((low + high) / 2).toBeLessThan(101.5);
    expect(usual).toBeLessThan(0.5);
  });

  it("daily: a step that the daily cycle hides (inside the day's range) is seen; the weekly member has not seen a week", () => {
    // 12 days of a daily cycle (±10), then +8 from reading 2880 (day 10): still inside the day's range.
    const s = crafted((_i, v) => v + 8, true);
    const off = { jump: null, weekly: null, levelShift: null, rangeTolerance: 0, rest: null } as const;
    const d = createAnomalyDetector({ ...off, daily: {} });
    const scores = s.values.map((v, i) => d.update(s.ts[i] as number, v));
    const before = Math.max(...scores.slice(2016, 2880));
    const after = Math.max(...scores.slice(2880, 2880 + 288));
    expect(after).toBeGreaterThanOrEqual(0.5);
    expect(after).toBeGreaterThan(before + 0.2);
    expect(d.explain().model).toBe('daily');
  });

  it('a state saved with the earlier daily layout (five days of means a slot) is refused, not misread', () => {
    const d = createAnomalyDetector({ daily: {} });
    for (let i = 0; i < 500; i++) d.update(Date.UTC(2026, 0, 1) + i * FIVE_MIN, 50 + (i % 7));
    const saved = Array.from(d.save());
    // The layout is [own 6 numbers, then per member: length, numbers, likelihood length, numbers]; the daily member
    // is the third. Rewrite its numbers as the earlier layout had them: 7 cells and 5 × 48 means.
    let at = 6;
    for (let m = 0; m < 2; m++) {
      at += 1 + (saved[at] as number);
      at += 1 + (saved[at] as number);
    }
    const len = saved[at] as number;
    const old = [...saved.slice(0, at), 7 + 5 * 48, ...new Array(7 + 5 * 48).fill(0), ...saved.slice(at + 1 + len)];
    expect(() => createAnomalyDetector({ daily: {} }).restore(Float64Array.from(old))).toThrow(/daily/);
  });
});

describe('not learning from anomalies (hold)', () => {
  const DAY = 288; // five-minute readings a day
  /** `days` days from a Monday of a daily cycle (±10) with noise, through `change`. */
  function weeks(change: (i: number, v: number) => number, days = 15): { ts: number[]; values: number[] } {
    const r = rng(5);
    const ts: number[] = [];
    const values: number[] = [];
    for (let i = 0; i < days * DAY; i++) {
      ts.push(Date.UTC(2026, 0, 5) + i * FIVE_MIN);
      values.push(change(i, 100 + 10 * Math.sin((2 * Math.PI * i) / DAY) + 2 * (r() - 0.5)));
    }
    return { ts, values };
  }
  // An incident on the first Wednesday, 12:00 to 13:30 (+40); the next Wednesday is an ordinary day.
  const incident = 2 * DAY + 144;
  const s = weeks((i, v) => (i >= incident && i < incident + 18 ? v + 40 : v));
  const scores = (o: Parameters<typeof createAnomalyDetector>[0], x = s) => {
    const d = createAnomalyDetector(o);
    return x.values.map((v, i) => d.update(x.ts[i] as number, v));
  };
  const max = (xs: number[], from: number, to: number) => Math.max(...xs.slice(from, to));
  const nextWeek = incident + 7 * DAY;

  it('an incident one week is not expected again the next week at the same time', () => {
    const learnt = scores({ daily: {} });
    const held = scores({ daily: {}, hold: {} });
    // Both alarm on the incident itself.
    expect(max(learnt, incident, incident + 18)).toBeGreaterThanOrEqual(0.5);
    expect(max(held, incident, incident + 18)).toBeGreaterThanOrEqual(0.5);
    // Learnt as it came, the weekly slots expect it back next Wednesday and alarm when it does not come: a false alert.
    expect(max(learnt, nextWeek - 6, nextWeek + 30)).toBeGreaterThanOrEqual(0.5);
    // Held out of learning, the slots keep the ordinary day.
    expect(max(held, nextWeek - 6, nextWeek + 30)).toBeLessThan(0.5);
  });

  it('is bounded: a step that lasts becomes the new normal, and does not alarm week after week', () => {
    // The same Wednesday, +40 from then on, five weeks.
    const step = weeks((i, v) => (i >= incident ? v + 40 : v), 35);
    const held = scores({ daily: {}, hold: {} }, step);
    const learnt = scores({ daily: {} }, step);
    expect(max(held, incident, incident + 18)).toBeGreaterThanOrEqual(0.5);
    // The second week's weekly slots (from before the step) alarm on its first readings, with or without the hold;
    // from the third week on, nothing: the slots learnt the new level (one member alone does not start a hold).
    const alarms = (xs: number[], week: number) =>
      xs.slice(week * 7 * DAY, (week + 1) * 7 * DAY).filter((x) => x >= 0.5);
    expect(alarms(held, 1).length).toBeLessThanOrEqual(alarms(learnt, 1).length);
    for (const week of [2, 3, 4]) expect(alarms(held, week)).toEqual([]);
  });

  it('continues after a restart in the middle of a hold as if it had never stopped', () => {
    const o = { daily: {}, hold: {} };
    const whole = scores(o);
    const cut = incident + 5;
    const a = createAnomalyDetector(o);
    for (let i = 0; i < cut; i++) a.update(s.ts[i] as number, s.values[i] as number);
    const b = createAnomalyDetector(o);
    b.restore(a.save());
    const rest = s.values.slice(cut).map((v, k) => b.update(s.ts[cut + k] as number, v));
    expect(rest).toEqual(whole.slice(cut));
    // A state saved without a hold restores into a detector with one (nothing is held open).
    const c = createAnomalyDetector({ daily: {} });
    for (let i = 0; i < cut; i++) c.update(s.ts[i] as number, s.values[i] as number);
    expect(() => createAnomalyDetector(o).restore(c.save())).not.toThrow();
  });
});
