// The Numenta Anomaly Benchmark (NAB, v1.1) scoring method, reimplemented from its published rules
// (nab/sweeper.py, nab/optimizer.py, nab/runner.py normalize()):
//
// - The first min(floor(0.15·n), 0.15·5000) rows of each file are probationary and not scored.
// - A row inside a label window [left, right] (row indices, inclusive; width w = right − left + 1) has the
//   relative position p = −(right − i + 1) / w (−1 at the left edge) and would score, if detected,
//   tpWeight · scaledSigmoid(p) / scaledSigmoid(−1): exactly tpWeight at the left edge.
//   Only the best-scoring (that is the earliest) detection of a window counts; an undetected window costs
//   −fnWeight.
// - A detected row outside every window is a false positive weighted by fpWeight · scaledSigmoid(d) with
//   d = (i − prevRight) / (prevWidth − 1), its distance past the preceding window's right edge, or −fpWeight
//   when no window precedes it. scaledSigmoid(x) = 2/(1 + e^{5x}) − 1, and −1 for x > 3.
// - A detection is a row whose anomaly score is ≥ the threshold. One threshold per profile is chosen for
//   the whole corpus: NAB sweeps every distinct score of the corpus (highest first) and keeps the best
//   total (the first, that is the highest threshold, among equal totals).
// - Normalised score = 100 · (raw − null) / (perfect − null), where null is the score of a detector that
//   never detects (−fnWeight per window) and perfect = tpWeight per window (each detected at its left edge).
import type { CostMatrix, Labels, WindowLimits } from './corpus.js';

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** NAB's scaled sigmoid: 0.98661 at −1 (window start), 0 at 0 (window end), −0.98661 at 1, −1 beyond 3. */
export function scaledSigmoid(relativePosition: number): number {
  if (relativePosition > 3) return -1;
  return 2 * sigmoid(-5 * relativePosition) - 1;
}

const MAX_TP = scaledSigmoid(-1);

/** NAB's probationary length: rows with index < this are not scored. */
export function probationaryLength(numRows: number, probationPercent = 0.15): number {
  return Math.min(Math.floor(probationPercent * numRows), probationPercent * 5000);
}

/** One file's detector output, aligned with its data rows. */
export interface ScoredFile {
  key: string;
  timestamps: number[];
  scores: number[];
}

/**
 * The rows of a corpus prepared for sweeping, independent of the cost matrix: for each scorable row its
 * anomaly score, its window (a corpus-wide window id) or −1 outside windows, and the unweighted sigmoid
 * value it would contribute if detected.
 */
export interface PreparedCorpus {
  scores: Float64Array;
  window: Int32Array;
  /** In a window: scaledSigmoid(position) / scaledSigmoid(−1); outside: scaledSigmoid(distance) or −1. */
  unweighted: Float64Array;
  /** File index of each row, for per-file breakdowns. */
  file: Int32Array;
  /** Row index within its file. */
  rowIndex: Int32Array;
  /** Row order by descending anomaly score. */
  order: Int32Array;
  /** Windows that have at least one scorable row: these are the ones a detector can hit or miss. */
  scorableWindows: number;
  /** All label windows of the scored files (NAB's "perfect" counts these). */
  totalWindows: number;
  /** For each window id: its file and its key `file|start`. */
  windowNames: string[];
  fileKeys: string[];
}

/**
 * Prepares a corpus for scoring (NAB's Sweeper.calcSweepScore over every file). Window limits must be
 * timestamps of the file, as NAB's labels are; a limit that is not is an error here (NAB would silently
 * skip such a window, or fail).
 */
export function prepareCorpus(files: ScoredFile[], labels: Labels, probationPercent = 0.15): PreparedCorpus {
  let total = 0;
  for (const f of files) {
    if (f.timestamps.length !== f.scores.length) {
      throw new Error(`${f.key}: ${f.timestamps.length} timestamps but ${f.scores.length} scores`);
    }
    total += f.scores.length;
  }
  const scores = new Float64Array(total);
  const window = new Int32Array(total);
  const unweighted = new Float64Array(total);
  const file = new Int32Array(total);
  const rowIndex = new Int32Array(total);
  const windowNames: string[] = [];
  const scorableWindowIds = new Set<number>();
  let totalWindows = 0;
  let n = 0;

  files.forEach((f, fi) => {
    const windows: WindowLimits[] = labels[f.key] ?? [];
    const ts = f.timestamps;
    const index = new Map<number, number>();
    ts.forEach((t, i) => {
      if (!index.has(t)) index.set(t, i);
    });
    const limits = windows.map(([a, b]) => {
      const left = index.get(a);
      const right = index.get(b);
      if (left === undefined || right === undefined || right < left) {
        throw new Error(
          `${f.key}: label window [${new Date(a).toISOString()}, ${new Date(b).toISOString()}] does not match the file's timestamps`,
        );
      }
      return { left, right, id: windowNames.push(`${f.key}|${new Date(a).toISOString()}`) - 1 };
    });
    totalWindows += limits.length;
    const probation = probationaryLength(ts.length, probationPercent);

    let next = 0; // next window to enter
    let cur: { left: number; right: number; id: number } | undefined;
    let prevRight = -1;
    let prevWidth = 0;
    for (let i = 0; i < ts.length; i++) {
      const w = limits[next];
      if (cur === undefined && w !== undefined && i === w.left) {
        cur = w;
        next++;
      }
      let u: number;
      if (cur !== undefined) {
        const width = cur.right - cur.left + 1;
        u = scaledSigmoid(-(cur.right - i + 1) / width) / MAX_TP;
      } else if (prevRight < 0) {
        u = -1;
      } else {
        u = scaledSigmoid(Math.abs(prevRight - i) / (prevWidth - 1));
      }
      if (i >= probation) {
        scores[n] = f.scores[i] ?? 0;
        window[n] = cur === undefined ? -1 : cur.id;
        unweighted[n] = u;
        file[n] = fi;
        rowIndex[n] = i;
        if (cur !== undefined) scorableWindowIds.add(cur.id);
        n++;
      }
      if (cur !== undefined && i === cur.right) {
        prevRight = i;
        prevWidth = cur.right - cur.left + 1;
        cur = undefined;
      }
    }
  });

  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const s = scores.subarray(0, n);
  order.sort((a, b) => (s[b] as number) - (s[a] as number) || a - b);
  return {
    scores: s,
    window: window.subarray(0, n),
    unweighted: unweighted.subarray(0, n),
    file: file.subarray(0, n),
    rowIndex: rowIndex.subarray(0, n),
    order,
    scorableWindows: scorableWindowIds.size,
    totalWindows,
    windowNames,
    fileKeys: files.map((f) => f.key),
  };
}

export interface ThresholdScore {
  threshold: number;
  score: number;
  tp: number;
  tn: number;
  fp: number;
  fn: number;
}

function weighted(c: PreparedCorpus, i: number, cost: CostMatrix): number {
  const u = c.unweighted[i] as number;
  return (c.window[i] as number) >= 0 ? u * cost.tpWeight : u * cost.fpWeight;
}

/**
 * NAB's Sweeper.calcScoreByThreshold over the whole corpus: the score for every distinct anomaly score used
 * as the threshold (detections are rows with score ≥ threshold), starting with 1.1 (no detection).
 */
export function scoresByThreshold(c: PreparedCorpus, cost: CostMatrix): ThresholdScore[] {
  const best = new Float64Array(c.windowNames.length).fill(-cost.fnWeight);
  let total = -cost.fnWeight * c.scorableWindows;
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < c.window.length; i++) if ((c.window[i] as number) >= 0) fn++;
  let tn = c.window.length - fn;
  const out: ThresholdScore[] = [];
  let threshold = 1.1;
  for (let k = 0; k < c.order.length; k++) {
    const i = c.order[k] as number;
    const s = c.scores[i] as number;
    if (s !== threshold) {
      out.push({ threshold, score: total, tp, tn, fp, fn });
      threshold = s;
    }
    const w = c.window[i] as number;
    const v = weighted(c, i, cost);
    if (w >= 0) {
      tp++;
      fn--;
      const b = best[w] as number;
      if (v > b) {
        total += v - b;
        best[w] = v;
      }
    } else {
      fp++;
      tn--;
      total += v;
    }
  }
  out.push({ threshold, score: total, tp, tn, fp, fn });
  return out;
}

/** NAB's optimizer: the threshold with the best total (the highest such threshold on ties). */
export function optimizeThreshold(c: PreparedCorpus, cost: CostMatrix): ThresholdScore {
  let best: ThresholdScore | undefined;
  for (const row of scoresByThreshold(c, cost)) if (best === undefined || row.score > best.score) best = row;
  if (best === undefined) throw new Error('nothing to score');
  return best;
}

export interface FileScore {
  key: string;
  score: number;
  /** Windows detected / windows scored in this file. */
  detectedWindows: number;
  windows: number;
  /** Detected rows outside windows (false-positive rows). */
  falsePositives: number;
}

/** Scores at a fixed threshold, file by file (NAB's scoring step): the file scores add up to the total. */
export function scoreAtThreshold(
  c: PreparedCorpus,
  cost: CostMatrix,
  threshold: number,
): { total: number; files: FileScore[] } {
  const files: FileScore[] = c.fileKeys.map((key) => ({
    key,
    score: 0,
    detectedWindows: 0,
    windows: 0,
    falsePositives: 0,
  }));
  const best = new Map<number, number>();
  const windowFile = new Map<number, number>();
  for (let i = 0; i < c.window.length; i++) {
    const w = c.window[i] as number;
    const f = files[c.file[i] as number] as FileScore;
    if (w >= 0 && !windowFile.has(w)) windowFile.set(w, c.file[i] as number);
    if ((c.scores[i] as number) < threshold) continue;
    const v = weighted(c, i, cost);
    if (w >= 0) {
      const b = best.get(w);
      if (b === undefined || v > b) best.set(w, v);
    } else {
      f.score += v;
      f.falsePositives++;
    }
  }
  for (const [w, fi] of windowFile) {
    const f = files[fi] as FileScore;
    f.windows++;
    const b = best.get(w);
    if (b === undefined) f.score -= cost.fnWeight;
    else {
      f.score += b;
      f.detectedWindows++;
    }
  }
  return { total: files.reduce((a, f) => a + f.score, 0), files };
}

export interface ProfileResult {
  profile: string;
  threshold: number;
  raw: number;
  nullScore: number;
  perfect: number;
  normalised: number;
  /** Row counts at the threshold, as NAB reports them. */
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

/** NAB's normalisation: 100·(raw − null)/(perfect − null). */
export function normalise(raw: number, nullScore: number, perfect: number): number {
  return (100 * (raw - nullScore)) / (perfect - nullScore);
}

/** Optimises the threshold for one profile and normalises the best score. */
export function scoreProfile(c: PreparedCorpus, profile: string, cost: CostMatrix): ProfileResult {
  const best = optimizeThreshold(c, cost);
  const nullScore = -cost.fnWeight * c.scorableWindows;
  const perfect = cost.tpWeight * c.totalWindows;
  return {
    profile,
    threshold: best.threshold,
    raw: best.score,
    nullScore,
    perfect,
    normalised: normalise(best.score, nullScore, perfect),
    tp: best.tp,
    fp: best.fp,
    fn: best.fn,
    tn: best.tn,
  };
}

/** Scores a corpus of detector outputs for every profile. */
export function scoreCorpus(
  files: ScoredFile[],
  labels: Labels,
  profiles: Record<string, CostMatrix>,
  probationPercent = 0.15,
): ProfileResult[] {
  const c = prepareCorpus(files, labels, probationPercent);
  return Object.entries(profiles).map(([name, cost]) => scoreProfile(c, name, cost));
}
