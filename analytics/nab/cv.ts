// Leave-one-category-out cross-validation on the NAB files: the honest estimate of how the detector does on data its
// hyper-parameters were not chosen on.
//
// For each category c: every candidate configuration is scored on the other categories (threshold optimised there,
// as NAB does), the best one is chosen, and that one is scored on c alone. Two held-out figures are reported for c:
// with the threshold optimised on c (what NAB, and an independent run on other NAB files, does) and with the
// threshold carried over from the training categories (stricter: nothing at all is learnt from c). A category
// without label windows (artificialNoAnomaly) has no normalised score (NAB's null and perfect are both 0): it is
// always part of the training side, and reported by its false-positive rows alone.
import type { AnomalyDetectorOverrides } from '../anomaly/detector.js';
import type { Labels, Profiles, Series } from './corpus.js';
import { detect } from './run.js';
import { normalise, prepareCorpus, scoreAtThreshold, scoreProfile, type ScoredFile } from './scorer.js';

export interface Candidate {
  name: string;
  options: AnomalyDetectorOverrides;
}

export interface FoldResult {
  category: string;
  files: number;
  windows: number;
  /** The candidate chosen on the other categories. */
  chosen: string;
  /** Its standard score on the other categories (threshold optimised there). */
  trainScore: number;
  /** Its standard score on this category, threshold optimised on this category (NAB's own protocol). */
  heldOut: number;
  /** ... with the threshold chosen on the other categories instead. */
  heldOutCarried: number;
  /** The reference candidate (the shipped defaults) on this category, threshold optimised on it: in-sample. */
  reference: number;
}

export interface CvResult {
  folds: FoldResult[];
  /** Means over the categories that have windows. */
  meanHeldOut: number;
  meanHeldOutCarried: number;
  meanReference: number;
  /** The candidate the same selection picks on all categories: what the defaults should be. */
  chosenOnAll: string;
  /** Its standard score on all files, and the reference's (in-sample figures). */
  chosenOnAllScore: number;
  referenceScore: number;
  candidates: number;
}

export const category = (key: string): string => key.split('/')[0] as string;

/**
 * The candidates the protocol chooses among: round values of the settings whose effect was clear in the earlier
 * global search (see analytics/nab/README.md), 48 in all. (A rest of 50 steps instead of 20 was in an earlier grid
 * and never chosen.) The shipped defaults are the one chosen on all categories.
 */
export function candidateGrid(): Candidate[] {
  const out: Candidate[] = [];
  const levels = [null, { short: 5, long: 500 }, { short: 10, long: 1000 }] as const;
  for (const rangeTolerance of [0.02, 0.05])
    for (const rangeScore of ['top', 'graded'] as const)
      for (const levelShift of levels)
        for (const daily of [null, {}])
          for (const zScale of [3, 5]) {
            const level = levelShift === null ? 'off' : `${levelShift.short}/${levelShift.long}`;
            out.push({
              name: `tol ${rangeTolerance} ${rangeScore}, level ${level}, daily ${daily ? 'on' : 'off'}, z ${zScale}`,
              options: { rangeTolerance, rangeScore, levelShift, daily, jump: { zScale }, weekly: { zScale } },
            });
          }
  return out;
}

function standardOf(profiles: Profiles) {
  const cost = profiles.standard ?? Object.values(profiles)[0];
  if (cost === undefined) throw new Error('no scoring profile');
  return cost;
}

/** Standard score of some files, threshold optimised on them. */
function scoreOn(files: ScoredFile[], labels: Labels, profiles: Profiles): { score: number; threshold: number } {
  const r = scoreProfile(prepareCorpus(files, labels), 'standard', standardOf(profiles));
  return { score: r.normalised, threshold: r.threshold };
}

/** Standard score of some files at a given threshold. */
function scoreAt(files: ScoredFile[], labels: Labels, profiles: Profiles, threshold: number): number {
  const cost = standardOf(profiles);
  const c = prepareCorpus(files, labels);
  const raw = scoreAtThreshold(c, cost, threshold).total;
  return normalise(raw, -cost.fnWeight * c.scorableWindows, cost.tpWeight * c.totalWindows);
}

export interface CvProgress {
  (done: number, total: number, name: string): void;
}

/**
 * Runs every candidate over the corpus once, then the leave-one-category-out selection. `reference` names the
 * candidate whose in-sample figures are reported beside the held-out ones.
 */
export function crossValidate(
  series: Series[],
  labels: Labels,
  profiles: Profiles,
  candidates: Candidate[],
  reference: string,
  progress?: CvProgress,
): CvResult {
  if (!candidates.some((c) => c.name === reference))
    throw new Error(`reference candidate ${reference} is not among the candidates`);
  const outputs = new Map<string, ScoredFile[]>();
  candidates.forEach((c, i) => {
    outputs.set(c.name, detect(series, c.options));
    progress?.(i + 1, candidates.length, c.name);
  });
  const cats = [...new Set(series.map((s) => category(s.key)))].sort();
  const windowsOf = (cat: string) =>
    series.filter((s) => category(s.key) === cat).reduce((a, s) => a + (labels[s.key]?.length ?? 0), 0);
  const pick = (files: (name: string) => ScoredFile[]) => {
    let best = { name: '', score: -Infinity, threshold: 1 };
    for (const c of candidates) {
      const r = scoreOn(files(c.name), labels, profiles);
      if (r.score > best.score) best = { name: c.name, ...r };
    }
    return best;
  };
  const only = (name: string, keep: (cat: string) => boolean) =>
    (outputs.get(name) as ScoredFile[]).filter((f) => keep(category(f.key)));

  const folds: FoldResult[] = [];
  for (const cat of cats) {
    const windows = windowsOf(cat);
    const files = series.filter((s) => category(s.key) === cat).length;
    const best = pick((name) => only(name, (c) => c !== cat));
    if (windows === 0) {
      folds.push({
        category: cat,
        files,
        windows,
        chosen: best.name,
        trainScore: best.score,
        heldOut: NaN,
        heldOutCarried: NaN,
        reference: NaN,
      });
      continue;
    }
    const test = only(best.name, (c) => c === cat);
    folds.push({
      category: cat,
      files,
      windows,
      chosen: best.name,
      trainScore: best.score,
      heldOut: scoreOn(test, labels, profiles).score,
      heldOutCarried: scoreAt(test, labels, profiles, best.threshold),
      reference: scoreOn(
        only(reference, (c) => c === cat),
        labels,
        profiles,
      ).score,
    });
  }
  const scored = folds.filter((f) => f.windows > 0);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const all = pick((name) => outputs.get(name) as ScoredFile[]);
  return {
    folds,
    meanHeldOut: mean(scored.map((f) => f.heldOut)),
    meanHeldOutCarried: mean(scored.map((f) => f.heldOutCarried)),
    meanReference: mean(scored.map((f) => f.reference)),
    chosenOnAll: all.name,
    chosenOnAllScore: all.score,
    referenceScore: scoreOn(outputs.get(reference) as ScoredFile[], labels, profiles).score,
    candidates: candidates.length,
  };
}
