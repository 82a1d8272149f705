// A streaming anomaly detector for one sensor metric, without fixed thresholds.
//
// Online, unsupervised and causal: update(ts, value) returns the score of that reading from the readings
// seen so far, and the state has a fixed size (set by the options, independent of how long the series is).
//
// How it scores (the method was chosen by measurement on NAB: see detectors/nab/README.md):
//   1. Range break: a value outside [min − tol·range, max + tol·range] of everything seen so far scores 1.
//   2. Three raw "surprise" signals in [0, 1], each 1 − exp(−z/zScale) of a standardised residual z:
//      - jump: |x − previous x| against the usual size of a step (an EWMA of it);
//      - weekly profile: |x − the usual value at this time of the week| (an EWMA per time-of-week slot),
//        against the usual size of that residual, which covers daily and weekly cycles;
//      - level shift: |mean of the last few values − mean of a long window| / the long window's deviation.
//   3. Each raw signal goes through an anomaly likelihood (./likelihood.ts): how improbable its recent
//      average is under the distribution of its own history. The score is the largest of the three.
//   4. After a score ≥ rest.level, the next rest.steps scores are damped: one event, one alarm.
import { AnomalyLikelihood, type LikelihoodOptions } from './likelihood.js';
import { RollingStats } from './stats.js';

export interface JumpOptions {
  /** z at which the raw signal reaches 1 − 1/e. */
  zScale: number;
  /** EWMA rate of the typical step size. */
  scaleRate: number;
}

export interface WeeklyOptions {
  zScale: number;
  /** Time-of-week slots (336 = half-hour slots). */
  slots: number;
  /** EWMA rate of each slot's value. */
  rate: number;
  /** EWMA rate of the typical residual. */
  scaleRate: number;
}

export interface LevelShiftOptions {
  zScale: number;
  /** Short and long window lengths (steps). */
  short: number;
  long: number;
}

export interface RestOptions {
  /** Steps damped after an alarm. */
  steps: number;
  /** Score that counts as an alarm. */
  level: number;
  /** Factor applied to the damped scores. */
  factor: number;
}

export interface AnomalyDetectorOptions {
  likelihood: Partial<LikelihoodOptions>;
  /** Range-break tolerance as a fraction of the range seen so far; 0 turns the range break off. */
  rangeTolerance: number;
  /** Readings seen before a range break can fire (the first readings only establish the range). */
  rangeWarmup: number;
  jump: JumpOptions | null;
  weekly: WeeklyOptions | null;
  levelShift: LevelShiftOptions | null;
  rest: RestOptions;
}

/** The configuration measured in detectors/nab/README.md (globally tuned on the NAB subset: see there). */
export const DEFAULT_OPTIONS: AnomalyDetectorOptions = {
  likelihood: {},
  rangeTolerance: 0.02,
  rangeWarmup: 20,
  jump: { zScale: 5, scaleRate: 0.01 },
  weekly: { zScale: 5, slots: 336, rate: 0.5, scaleRate: 0.003 },
  levelShift: { zScale: 2, short: 5, long: 500 },
  rest: { steps: 20, level: 0.5, factor: 0.1 },
};

export interface AnomalyDetector {
  /** Scores one reading (ts in ms since the epoch); returns a score in [0, 1]. Non-finite values score 0. */
  update(ts: number, value: number): number;
  /** Numbers held in the state: fixed at creation, whatever the length of the series. */
  readonly stateSize: number;
}

/** Deep-merges partial options over the defaults (`null` turns a component off). */
export type AnomalyDetectorOverrides = {
  [K in keyof AnomalyDetectorOptions]?: AnomalyDetectorOptions[K] extends infer V
    ? V extends object
      ? Partial<V> | null
      : V
    : never;
};

export function resolveOptions(overrides: AnomalyDetectorOverrides = {}): AnomalyDetectorOptions {
  const d = DEFAULT_OPTIONS;
  const part = <T extends object>(base: T | null, o: Partial<T> | null | undefined): T | null =>
    o === null ? null : o === undefined ? base : base === null ? (o as T) : { ...base, ...o };
  return {
    likelihood: { ...d.likelihood, ...(overrides.likelihood ?? {}) },
    rangeTolerance: overrides.rangeTolerance ?? d.rangeTolerance,
    rangeWarmup: overrides.rangeWarmup ?? d.rangeWarmup,
    jump: part(d.jump, overrides.jump),
    weekly: part(d.weekly, overrides.weekly),
    levelShift: part(d.levelShift, overrides.levelShift),
    rest: part(d.rest, overrides.rest) ?? { steps: 0, level: 1, factor: 1 },
  };
}

const squash = (z: number, zScale: number): number => 1 - Math.exp(-z / zScale);

/** A raw surprise signal: a residual against a prediction, standardised by an EWMA of its own size. */
interface RawSignal {
  update(ts: number, x: number): number;
  readonly stateSize: number;
}

class ResidualScale {
  private scale = 0;
  private seen = false;
  constructor(
    private readonly zScale: number,
    private readonly rate: number,
  ) {}
  /** Raw surprise of a residual of size e, then learns it. */
  next(e: number): number {
    let raw = 0;
    if (this.scale > 0) raw = squash(e / this.scale, this.zScale);
    else if (this.seen && e > 0) raw = 1; // the first move after a perfectly flat stretch
    this.scale = this.scale > 0 ? (1 - this.rate) * this.scale + this.rate * e : e;
    this.seen = true;
    return raw;
  }
}

function jumpSignal(o: JumpOptions): RawSignal {
  const scale = new ResidualScale(o.zScale, o.scaleRate);
  let prev: number | undefined;
  return {
    update(_ts, x) {
      const raw = prev === undefined ? 0 : scale.next(Math.abs(x - prev));
      prev = x;
      return raw;
    },
    stateSize: 4,
  };
}

const WEEK_MS = 7 * 86_400_000;

function weeklySignal(o: WeeklyOptions): RawSignal {
  const mean = new Float64Array(o.slots);
  const seen = new Uint32Array(o.slots);
  const scale = new ResidualScale(o.zScale, o.scaleRate);
  return {
    update(ts, x) {
      if (!Number.isFinite(ts)) return 0;
      const slot = Math.min(o.slots - 1, Math.floor(((((ts % WEEK_MS) + WEEK_MS) % WEEK_MS) / WEEK_MS) * o.slots));
      const n = seen[slot] as number;
      const m = mean[slot] as number;
      const raw = n >= 2 ? scale.next(Math.abs(x - m)) : 0;
      mean[slot] = n === 0 ? x : (1 - o.rate) * m + o.rate * x;
      seen[slot] = Math.min(n + 1, 0xffffffff);
      return raw;
    },
    stateSize: 2 * o.slots + 3,
  };
}

function levelShiftSignal(o: LevelShiftOptions): RawSignal {
  const short = new RollingStats(o.short);
  const long = new RollingStats(o.long);
  return {
    update(_ts, x) {
      short.push(x);
      long.push(x);
      const sd = Math.sqrt(long.variance);
      return sd > 0 ? squash(Math.abs(short.mean - long.mean) / sd, o.zScale) : 0;
    },
    stateSize: short.stateSize + long.stateSize,
  };
}

/** Running range of everything seen; a value well outside it is a range break. */
class RangeBreak {
  private min = Infinity;
  private max = -Infinity;
  private seen = 0;
  constructor(
    private readonly tolerance: number,
    private readonly warmup: number,
  ) {}
  update(x: number): boolean {
    let out = false;
    if (this.seen < this.warmup) this.seen++;
    else {
      const range = this.max - this.min;
      const tol = range * this.tolerance;
      out = range > 0 ? x > this.max + tol || x < this.min - tol : x !== this.max;
    }
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
    return out;
  }
}

export function createAnomalyDetector(overrides: AnomalyDetectorOverrides = {}): AnomalyDetector {
  const o = resolveOptions(overrides);
  const signals: RawSignal[] = [];
  if (o.jump) signals.push(jumpSignal(o.jump));
  if (o.weekly) signals.push(weeklySignal(o.weekly));
  if (o.levelShift) signals.push(levelShiftSignal(o.levelShift));
  const likelihoods = signals.map(() => new AnomalyLikelihood(o.likelihood));
  const range = o.rangeTolerance > 0 ? new RangeBreak(o.rangeTolerance, Math.max(1, o.rangeWarmup)) : null;
  let sinceAlarm = Infinity;
  const stateSize = signals.reduce((a, s) => a + s.stateSize, 0) + likelihoods.reduce((a, l) => a + l.stateSize, 0) + 4;

  return {
    update(ts: number, value: number): number {
      if (!Number.isFinite(value)) return 0;
      const broke = range?.update(value) ?? false;
      let score = 0;
      for (let i = 0; i < signals.length; i++) {
        const l = (likelihoods[i] as AnomalyLikelihood).update((signals[i] as RawSignal).update(ts, value));
        if (l > score) score = l;
      }
      if (broke) score = 1;
      sinceAlarm++;
      if (sinceAlarm <= o.rest.steps) score *= o.rest.factor;
      else if (score >= o.rest.level) sinceAlarm = 0;
      return Math.min(1, Math.max(0, score));
    },
    stateSize,
  };
}
