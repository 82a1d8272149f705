// A streaming anomaly detector for one sensor metric, without fixed thresholds.
//
// Online, unsupervised and causal: update(ts, value) returns the score of that reading from the readings
// seen so far, and the state has a fixed size (set by the options, independent of how long the series is).
//
// How it scores (the method and its defaults were chosen by leave-one-category-out cross-validation on NAB: see
// detectors/nab/README.md):
//   1. Range break: a value outside [min − tol·range, max + tol·range] of everything seen so far.
//   2. Members (./members.ts), each a raw "surprise" in [0, 1]: jump (against the previous value), weekly (against
//      the usual value at this time of the week), level (short against long mean).
//   3. Each member's raw signal goes through its own anomaly likelihood (./likelihood.ts): how improbable its
//      recent average is under the distribution of its own history. The score is the largest of them.
//   4. After a score ≥ rest.level, the next rest.steps scores are damped: one event, one alarm.
// explain() says which member gave the score and the band it expected, for the alert shown to staff.
import { AnomalyLikelihood, DEFAULT_LIKELIHOOD, type LikelihoodOptions } from './likelihood.js';
import {
  dailyMember,
  jumpMember,
  levelShiftMember,
  RunningRange,
  weeklyMember,
  type DailyOptions,
  type Expectation,
  type JumpOptions,
  type LevelShiftOptions,
  type Member,
  type WeeklyOptions,
} from './members.js';

export type { DailyOptions, JumpOptions, LevelShiftOptions, WeeklyOptions } from './members.js';

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
  /**
   * How a range break scores: 'top' scores 1, whatever its size; 'graded' scores by how far outside the range the
   * value is (0.5 at the tolerance, 1 at 8 times it), so that a threshold can tell a new record from a breakdown.
   */
  rangeScore: 'top' | 'graded';
  jump: JumpOptions | null;
  weekly: WeeklyOptions | null;
  daily: DailyOptions | null;
  levelShift: LevelShiftOptions | null;
  rest: RestOptions;
}

/** The defaults, chosen once by the cross-validation in detectors/nab/README.md. */
export const DEFAULT_OPTIONS: AnomalyDetectorOptions = {
  likelihood: {},
  rangeTolerance: 0.02,
  rangeWarmup: 20,
  rangeScore: 'top',
  jump: { zScale: 5, scaleRate: 0.01 },
  weekly: { zScale: 5, slots: 336, rate: 0.5, scaleRate: 0.003 },
  daily: null,
  levelShift: { zScale: 2, short: 10, long: 1000 },
  rest: { steps: 20, level: 0.5, factor: 0.1 },
};

/** Why the latest reading scored what it did. */
export interface AnomalyExplanation {
  /** The member that gave the score: 'range' for a range break, or jump, weekly, level; 'none' for no score. */
  model: string;
  score: number;
  observed: number;
  /** The band that member expected the reading in; absent while it is still learning. */
  expected?: Expectation;
}

export interface AnomalyDetector {
  /** Scores one reading (ts in ms since the epoch); returns a score in [0, 1]. Non-finite values score 0. */
  update(ts: number, value: number): number;
  /** Which member gave the latest score and what it expected. */
  explain(): AnomalyExplanation;
  /** Numbers held in the state: fixed at creation, whatever the length of the series. */
  readonly stateSize: number;
  /** Bytes of the state. */
  readonly stateBytes: number;
  /** The whole state, to continue after a restart (restore it into a detector made with the same options). */
  save(): Float64Array;
  restore(state: Float64Array): void;
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
  const part = <T extends object>(base: T | null, o: Partial<T> | null | undefined, fallback?: T): T | null =>
    o === null ? null : o === undefined ? base : base === null ? ({ ...fallback, ...o } as T) : { ...base, ...o };
  return {
    likelihood: { ...d.likelihood, ...(overrides.likelihood ?? {}) },
    rangeTolerance: overrides.rangeTolerance ?? d.rangeTolerance,
    rangeWarmup: overrides.rangeWarmup ?? d.rangeWarmup,
    rangeScore: overrides.rangeScore ?? d.rangeScore,
    jump: part(d.jump, overrides.jump, MEMBER_DEFAULTS.jump),
    weekly: part(d.weekly, overrides.weekly, MEMBER_DEFAULTS.weekly),
    daily: part(d.daily, overrides.daily, MEMBER_DEFAULTS.daily),
    levelShift: part(d.levelShift, overrides.levelShift, MEMBER_DEFAULTS.levelShift),
    rest: part(d.rest, overrides.rest) ?? { steps: 0, level: 1, factor: 1 },
  };
}

/** Each member's settings when it is turned on over defaults that have it off. */
export const MEMBER_DEFAULTS = {
  jump: { zScale: 5, scaleRate: 0.01 },
  weekly: { zScale: 5, slots: 336, rate: 0.5, scaleRate: 0.003 },
  daily: { zScale: 5, slots: 48, days: 5, minDays: 2, scaleRate: 0.003 },
  levelShift: { zScale: 2, short: 10, long: 1000 },
} satisfies Record<string, object>;

const LOG2_8 = 3;

const complete = new WeakMap<AnomalyDetectorOptions, LikelihoodOptions>();
/** The likelihood options in full, one object per options object (shared by all detectors made with it). */
function completeLikelihood(o: AnomalyDetectorOptions): LikelihoodOptions {
  let l = complete.get(o);
  if (!l) complete.set(o, (l = { ...DEFAULT_LIKELIHOOD, ...o.likelihood }));
  return l;
}

class StreamingAnomalyDetector implements AnomalyDetector {
  private readonly members: Member[] = [];
  private readonly likelihoods: AnomalyLikelihood[] = [];
  private readonly range = new RunningRange();
  private readonly warmup: number;
  private sinceAlarm = Infinity;
  // What explain() reports, kept as fields: an object per reading would be garbage on the detectors' hot path.
  private lastModel = 'none';
  private lastScore = 0;
  private lastObserved = NaN;
  private lastExpected: Expectation | undefined;

  constructor(private readonly o: AnomalyDetectorOptions) {
    if (o.jump) this.members.push(jumpMember(o.jump));
    if (o.weekly) this.members.push(weeklyMember(o.weekly));
    if (o.daily) this.members.push(dailyMember(o.daily));
    if (o.levelShift) this.members.push(levelShiftMember(o.levelShift));
    const likelihood = completeLikelihood(o);
    for (const _ of this.members) this.likelihoods.push(new AnomalyLikelihood(likelihood));
    this.warmup = Math.max(1, o.rangeWarmup);
  }

  get stateSize(): number {
    return this.save().length;
  }

  get stateBytes(): number {
    return 6 * 8 + this.members.reduce((a, m) => a + m.stateBytes, 0) + this.likelihoods.reduce((a, l) => a + l.stateSize * 8, 0);
  }

  /** Score of a range break, or 0 when x is within the range (with its tolerance). */
  private rangeBreak(x: number): number {
    const { o, range } = this;
    if (o.rangeTolerance <= 0 || range.seen < this.warmup) return 0;
    const span = range.span;
    if (span === 0) return x !== range.max ? 1 : 0;
    const excess = (x > range.max ? x - range.max : x < range.min ? range.min - x : 0) / span;
    if (excess <= o.rangeTolerance) return 0;
    if (o.rangeScore === 'top') return 1;
    return Math.min(1, 0.5 + (0.5 * Math.log2(excess / o.rangeTolerance)) / LOG2_8);
  }

  update(ts: number, value: number): number {
    if (!Number.isFinite(value)) return 0;
    const { o, range } = this;
    const broke = this.rangeBreak(value);
    const rangeBand = range.seen > 0 ? { low: range.min - o.rangeTolerance * range.span, high: range.max + o.rangeTolerance * range.span } : undefined;
    range.push(value);
    let score = 0;
    let model = 'none';
    let expected: Expectation | undefined;
    for (let i = 0; i < this.members.length; i++) {
      const m = this.members[i] as Member;
      const raw = m.update(ts, value);
      if (raw === null) continue;
      const l = (this.likelihoods[i] as AnomalyLikelihood).update(raw);
      if (l > score) {
        score = l;
        model = m.name;
        expected = m.expected() ?? undefined;
      }
    }
    if (broke > 0 && broke >= score) {
      score = broke;
      model = 'range';
      expected = rangeBand;
    }
    this.sinceAlarm++;
    if (this.sinceAlarm <= o.rest.steps) score *= o.rest.factor;
    else if (score >= o.rest.level) this.sinceAlarm = 0;
    score = Math.min(1, Math.max(0, score));
    this.lastModel = model;
    this.lastScore = score;
    this.lastObserved = value;
    this.lastExpected = expected;
    return score;
  }

  explain(): AnomalyExplanation {
    const e = { model: this.lastModel, score: this.lastScore, observed: this.lastObserved };
    return this.lastExpected ? { ...e, expected: this.lastExpected } : e;
  }

  save(): Float64Array {
    const parts: number[] = [...this.range.save(), this.sinceAlarm === Infinity ? -1 : this.sinceAlarm, this.members.length, 0];
    for (let i = 0; i < this.members.length; i++) {
      const m = (this.members[i] as Member).save();
      const l = (this.likelihoods[i] as AnomalyLikelihood).save();
      parts.push(m.length, ...m, l.length, ...l);
    }
    return Float64Array.from(parts);
  }

  restore(state: Float64Array): void {
    const s = Array.from(state);
    const n = this.members.length;
    if (s[4] !== n) throw new Error(`anomaly detector state has ${s[4]} members, this detector ${n}: options changed`);
    this.range.load(s.slice(0, 3));
    this.sinceAlarm = (s[3] as number) < 0 ? Infinity : (s[3] as number);
    let at = 6;
    for (let i = 0; i < n; i++) {
      const ml = s[at++] as number;
      const member = this.members[i] as Member;
      // A state saved with other member settings (or order) has other lengths: refuse it rather than misread it.
      if (ml !== member.save().length) throw new Error(`anomaly detector state does not match its options (${member.name})`);
      member.load(s.slice(at, (at += ml)));
      const ll = s[at++] as number;
      (this.likelihoods[i] as AnomalyLikelihood).load(s.slice(at, (at += ll)));
    }
    if (at !== s.length) throw new Error('anomaly detector state does not match its options');
  }
}

// Resolved once: the defaults are shared by every detector that takes them, and so are the options resolved from one
// overrides object (the monitor passes the same one for every series: resolved per series, the option objects cost
// several hundred bytes a series at 100,000 series). Options are read, never written.
let resolvedDefaults: AnomalyDetectorOptions | undefined;
const resolvedFrom = new WeakMap<AnomalyDetectorOverrides, AnomalyDetectorOptions>();

export function createAnomalyDetector(overrides: AnomalyDetectorOverrides = {}): AnomalyDetector {
  if (Object.keys(overrides).length === 0) return new StreamingAnomalyDetector((resolvedDefaults ??= resolveOptions()));
  let o = resolvedFrom.get(overrides);
  if (!o) resolvedFrom.set(overrides, (o = resolveOptions(overrides)));
  return new StreamingAnomalyDetector(o);
}
