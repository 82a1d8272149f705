import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CostMatrix, Labels } from './corpus.js';
import {
  normalise,
  optimizeThreshold,
  prepareCorpus,
  probationaryLength,
  scaledSigmoid,
  scoreAtThreshold,
  scoreCorpus,
  scoresByThreshold,
  type ScoredFile,
} from './scorer.js';
import { DEFAULT_NAB_DIR, loadLabels, readCorpus, readProfiles, readResultsDir } from './run.js';

const STANDARD: CostMatrix = { tpWeight: 1, fpWeight: 0.11, fnWeight: 1 };
const MIN = 60_000;

/** One synthetic file of n rows one minute apart, with windows given as row ranges. */
function file(n: number, detections: Record<number, number>, key = 'cat/a.csv'): ScoredFile {
  const timestamps = Array.from({ length: n }, (_, i) => i * MIN);
  const scores = timestamps.map((_, i) => detections[i] ?? 0);
  return { key, timestamps, scores };
}
function labels(windows: Record<string, [number, number][]>): Labels {
  return Object.fromEntries(
    Object.entries(windows).map(([k, ws]) => [k, ws.map(([a, b]) => [a * MIN, b * MIN] as [number, number])]),
  );
}
/** Raw score at threshold 0.5 with no probationary period. */
function raw(f: ScoredFile, windows: [number, number][], cost = STANDARD): number {
  const c = prepareCorpus([f], labels({ [f.key]: windows }), 0);
  return scoreAtThreshold(c, cost, 0.5).total;
}

describe('NAB scaled sigmoid and probation', () => {
  it('matches NAB at the window edges and beyond', () => {
    expect(scaledSigmoid(-1)).toBeCloseTo(0.98661, 5);
    expect(scaledSigmoid(-0.5)).toBeCloseTo(0.84828, 5);
    expect(scaledSigmoid(0)).toBe(0);
    expect(scaledSigmoid(1)).toBeCloseTo(-0.98661, 5);
    expect(scaledSigmoid(3)).toBeCloseTo(2 / (1 + Math.exp(15)) - 1, 12);
    expect(scaledSigmoid(3.0001)).toBe(-1);
  });

  it('is 15% of the rows, at most 750', () => {
    expect(probationaryLength(100)).toBe(15);
    expect(probationaryLength(4032)).toBe(604);
    expect(probationaryLength(5000)).toBe(750);
    expect(probationaryLength(22695)).toBe(750);
  });
});

describe('NAB scoring, hand-computed cases (window rows 10..14, width 5)', () => {
  const W: [number, number][] = [[10, 14]];

  it('a detection at the left edge is worth tpWeight', () => {
    expect(raw(file(20, { 10: 1 }), W)).toBeCloseTo(1, 12);
  });

  it('a later detection is worth scaledSigmoid(−(right − i + 1)/width)/scaledSigmoid(−1)', () => {
    // i = 12: position −3/5 → 0.905148/0.986614
    expect(raw(file(20, { 12: 1 }), W)).toBeCloseTo(0.9174286804, 9);
    // i = 14, the right edge: position −1/5 (NAB's "+ 1"), not 0
    expect(raw(file(20, { 14: 1 }), W)).toBeCloseTo(0.4683868439, 9);
  });

  it('only the earliest (best) detection of a window counts', () => {
    expect(raw(file(20, { 10: 1, 11: 1, 12: 1, 14: 1 }), W)).toBeCloseTo(1, 12);
  });

  it('a missed window costs −fnWeight', () => {
    expect(raw(file(20, {}), W)).toBe(-1);
    expect(raw(file(20, {}), W, { tpWeight: 1, fpWeight: 0.11, fnWeight: 2 })).toBe(-2);
  });

  it('false positives: −fpWeight before any window, sigmoid-weighted after one', () => {
    // before the window: full fpWeight; plus the missed window
    expect(raw(file(20, { 3: 1 }), W)).toBeCloseTo(-1 - 0.11, 12);
    // i = 16: 2 rows past the right edge, distance 2/(width − 1) = 0.5 → 0.11·scaledSigmoid(0.5)
    expect(raw(file(20, { 16: 1 }), W)).toBeCloseTo(-1 - 0.0933112004, 9);
    // i = 19: distance 5/4 = 1.25
    expect(raw(file(20, { 19: 1 }), W)).toBeCloseTo(-1 - 0.1095761184, 9);
    // far past the window (distance 16/4 = 4 > 3): −fpWeight
    expect(raw(file(40, { 30: 1 }), W)).toBeCloseTo(-1 - 0.11, 12);
    // a hit and a false positive after it
    expect(raw(file(20, { 12: 1, 16: 1 }), W)).toBeCloseTo(0.9174286804 - 0.0933112004, 9);
  });

  it('false positives are weighted by the nearest preceding window', () => {
    // windows 10..14 and 30..34; i = 36 is 2 rows past the second one
    expect(
      raw(file(60, { 10: 1, 30: 1, 36: 1 }), [
        [10, 14],
        [30, 34],
      ]),
    ).toBeCloseTo(2 - 0.0933112004, 9);
  });

  it('probationary rows are not scored, not even as false positives', () => {
    const f = file(100, { 5: 1, 50: 1 });
    const c = prepareCorpus([f], labels({ [f.key]: [[50, 59]] })); // probation: 15 rows
    expect(scoreAtThreshold(c, STANDARD, 0.5).total).toBeCloseTo(1, 12);
  });

  it('a window that lies in the probationary period is not counted', () => {
    const f = file(100, {});
    const c = prepareCorpus(
      [f],
      labels({
        [f.key]: [
          [2, 5],
          [50, 59],
        ],
      }),
    );
    expect(c.scorableWindows).toBe(1);
    expect(c.totalWindows).toBe(2);
    expect(scoreAtThreshold(c, STANDARD, 0.5).total).toBe(-1);
  });

  it('rejects label windows that are not timestamps of the file', () => {
    const f = file(20, {});
    expect(() => prepareCorpus([f], { [f.key]: [[10.5 * MIN, 14 * MIN]] }, 0)).toThrow(/does not match/);
  });
});

describe('NAB threshold sweep', () => {
  // window 10..14 hit at 12 (score 0.9); false positives at 3 (0.95) and 16 (0.5)
  const f = file(20, { 3: 0.95, 12: 0.9, 16: 0.5 });
  const c = prepareCorpus([f], labels({ [f.key]: [[10, 14]] }), 0);

  it('scores every distinct anomaly score as a threshold, from 1.1 down', () => {
    const rows = scoresByThreshold(c, STANDARD);
    expect(rows.map((r) => r.threshold)).toEqual([1.1, 0.95, 0.9, 0.5, 0]);
    expect(rows[0]?.score).toBe(-1);
    expect(rows[1]?.score).toBeCloseTo(-1.11, 12);
    expect(rows[2]?.score).toBeCloseTo(0.9174286804 - 0.11, 9);
    expect(rows[3]?.score).toBeCloseTo(0.9174286804 - 0.11 - 0.0933112004, 9);
    // row counts (NAB's tp/fp are rows): at 0.9, one row in the window and one outside are detected
    expect(rows[2]).toMatchObject({ tp: 1, fp: 1, fn: 4, tn: 14 });
  });

  it('keeps the best threshold, which the per-file scoring reproduces', () => {
    const best = optimizeThreshold(c, STANDARD);
    expect(best.threshold).toBe(0.9);
    expect(scoreAtThreshold(c, STANDARD, best.threshold).total).toBeCloseTo(best.score, 12);
  });

  it('normalises against the null and perfect detectors', () => {
    expect(normalise(-1, -1, 1)).toBe(0);
    expect(normalise(1, -1, 1)).toBe(100);
    const [r] = scoreCorpus([f], labels({ [f.key]: [[10, 14]] }), { standard: STANDARD }, 0);
    expect(r?.normalised).toBeCloseTo((100 * (0.9174286804 - 0.11 + 1)) / 2, 6);
  });
});

describe('NAB scorer on the NAB subset in shared/nab', () => {
  const labelsFile = path.join(DEFAULT_NAB_DIR, 'labels', 'combined_windows.json');
  const nabLabels = loadLabels(labelsFile);
  const profiles = readProfiles(undefined);
  const series = readCorpus(path.join(DEFAULT_NAB_DIR, 'data'), nabLabels);

  it('scores the null detector 0 and a perfect detector 100 in every profile', () => {
    const nullFiles = series.map((s) => ({ key: s.key, timestamps: s.timestamps, scores: s.values.map(() => 0) }));
    for (const r of scoreCorpus(nullFiles, nabLabels, profiles)) expect(r.normalised).toBeCloseTo(0, 9);
    const perfectFiles = series.map((s) => {
      const starts = new Set((nabLabels[s.key] ?? []).map(([a]) => a));
      return { key: s.key, timestamps: s.timestamps, scores: s.timestamps.map((t) => (starts.has(t) ? 1 : 0)) };
    });
    for (const r of scoreCorpus(perfectFiles, nabLabels, profiles)) expect(r.normalised).toBeCloseTo(100, 9);
  });

  it('reproduces the published scores of the reference detectors (standard profile)', () => {
    const score = (detector: string): number => {
      const files = readResultsDir(path.join(DEFAULT_NAB_DIR, 'reference-results', detector), nabLabels);
      const std = scoreCorpus(files, nabLabels, profiles).find((r) => r.profile === 'standard');
      return std?.normalised ?? Number.NaN;
    };
    expect(Math.abs(score('numenta') - 69.5)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(score('windowedGaussian') - 37.7)).toBeLessThanOrEqual(0.5);
  });
});
