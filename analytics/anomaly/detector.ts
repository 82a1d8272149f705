// A streaming anomaly detector for one sensor metric, without fixed thresholds.
//
// Online, unsupervised and causal: update(ts, value) returns the score of that reading from the readings
// seen so far, and the state has a fixed size (set by the options, independent of how long the series is).
//
// How it scores (the method and its defaults were chosen by leave-one-category-out cross-validation on NAB: see
// analytics/nab/README.md):
//   1. Range break: a value outside [min − tol·range, max + tol·range] of everything seen so far.
//   2. Members (./members.ts), each a raw "surprise" in [0, 1]: jump (against the previous value), weekly (against
//      the usual value at this time of the week), level (short against long mean).
//   3. Each member's raw signal goes through its own anomaly likelihood (./likelihood.ts): how improbable its
//      recent average is under the distribution of its own history. The score is the largest of them.
//   4. After a score ≥ rest.level, the next rest.steps scores are damped: one event, one alarm.
//   5. With `hold` (off by default; the rules file turns it on), a reading the detector finds anomalous is scored but
//      not learnt: members keep what they expected and the likelihoods' histories their spread, for at most
//      hold.maxS of an anomaly, after which it is the new normal (a sensor moved).
// explain() says which member gave the score and the band it expected, for the alert shown to staff.
import { DEFAULT_LIKELIHOOD, Likelihoods, type LikelihoodOptions } from './likelihood.js';
import {
  dailyMember,
  jumpMember,
  levelShiftMember,
  MEMBER_CELLS,
  MEMBER_TABLES,
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

/**
 * Not learning from anomalies. A reading is held (scored, not learnt: see Member.learn and Likelihoods.learn) when
 * `members` members find it off: from a score ≥ level (before the rest's damping) with that many `z` typical residuals
 * off, or from that many `startZ` off (the likelihoods average ten readings: an incident's first reading scores low and
 * would be learnt, and a weekly slot takes it at half weight). The hold goes on while a member that can witness
 * (Member.witness) finds the readings `z` off, for at most maxS seconds from its first; then everything learns again
 * until none does, so that a step that lasts becomes the new normal. Two members to start, not one: a member alone
 * that is out of date (a weekly slot from before a sensor was moved) would otherwise hold, every week, what it should
 * learn, and alert every week.
 */
export interface HoldOptions {
  level: number;
  members: number;
  startZ: number;
  z: number;
  maxS: number;
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
  hold: HoldOptions | null;
}

/** The defaults, chosen once by the cross-validation in analytics/nab/README.md. */
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
  hold: null,
};

/** Why the latest reading scored what it did. */
export interface AnomalyExplanation {
  /** The member that gave the score: 'range' for a range break, or jump, weekly, daily, level; 'none' for no score. */
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
    hold: part(d.hold, overrides.hold, HOLD_DEFAULTS),
  };
}

/** Each member's settings when it is turned on over defaults that have it off. */
export const MEMBER_DEFAULTS = {
  jump: { zScale: 5, scaleRate: 0.01 },
  weekly: { zScale: 5, slots: 336, rate: 0.5, scaleRate: 0.003 },
  daily: { zScale: 5, slots: 48, minDays: 2, rate: 0.5, clip: 3, scaleRate: 0.003 },
  levelShift: { zScale: 2, short: 10, long: 1000 },
} satisfies Record<string, object>;

/**
 * `hold` when it is turned on (chosen on the simulator's seeds 42, 7 and 99: analytics/nab/README.md). Three hours
 * cover the simulator's longest passing incident (a storm); z 3 is the band shown to staff.
 */
export const HOLD_DEFAULTS: HoldOptions = { level: 0.5, members: 2, startZ: 6, z: 3, maxS: 3 * 3600 };

const LOG2_8 = 3;

const complete = new WeakMap<AnomalyDetectorOptions, LikelihoodOptions>();
/** The likelihood options in full, one object per options object (shared by all detectors made with it). */
function completeLikelihood(o: AnomalyDetectorOptions): LikelihoodOptions {
  let l = complete.get(o);
  if (!l) complete.set(o, (l = { ...DEFAULT_LIKELIHOOD, ...o.likelihood }));
  return l;
}

// The detector's own cells, ahead of its members' and likelihoods' in its one array: the running range (min, max,
// seen), steps since the last alarm, what explain() reports of the latest reading (score, value, band on/low/high), and
// the hold (0 none, 1 holding, 2 released after maxS; the time of its first reading).
const MIN = 0;
const MAX = 1;
const SEEN = 2;
const SINCE_ALARM = 3;
const LAST_SCORE = 4;
const LAST_VALUE = 5;
const LAST_BAND = 6;
const HOLD = 9;
const HOLD_TS = 10;
const OWN_CELLS = 11;

class StreamingAnomalyDetector implements AnomalyDetector {
  private readonly members: Member[] = [];
  /** One likelihood per member. */
  private readonly likelihoods: Likelihoods;
  /**
   * Every scalar of the detector, its members and their likelihoods, in one array: as object fields and helper
   * objects they cost more than the numbers themselves at 100,000 series (bench:rules).
   */
  private readonly s: Float64Array;
  private readonly warmup: number;
  /** Readings before a hold can start (the likelihoods are neutral until then). */
  private readonly holdWarmup: number;
  private lastModel = 'none';

  constructor(private readonly o: AnomalyDetectorOptions) {
    const likelihood = completeLikelihood(o);
    const kinds = (['jump', 'weekly', 'daily', 'levelShift'] as const).filter((k) => o[k]);
    let cells = OWN_CELLS;
    for (const k of kinds) cells += MEMBER_CELLS[k];
    const lAt = cells;
    cells += kinds.length * Likelihoods.cellsOf(likelihood);
    // The members' slot tables in one float32 view of the same buffer as the scalars (each buffer and each view costs
    // its own heap objects at 100,000 series).
    const sizes = kinds.map((k) =>
      k === 'weekly' ? MEMBER_TABLES.weekly(o.weekly!) : k === 'daily' ? MEMBER_TABLES.daily(o.daily!) : null,
    );
    const f32n = sizes.reduce((n, t) => n + (t?.f32 ?? 0), 0);
    const buf = new ArrayBuffer(8 * cells + 4 * f32n);
    this.s = new Float64Array(buf, 0, cells);
    const f32 = f32n > 0 ? new Float32Array(buf, 8 * cells, f32n) : undefined;
    this.s[MIN] = Infinity;
    this.s[MAX] = -Infinity;
    this.s[SINCE_ALARM] = Infinity;
    this.s[LAST_VALUE] = NaN;
    let at = OWN_CELLS;
    let f32At = 0;
    kinds.forEach((k, i) => {
      if (k === 'jump') this.members.push(jumpMember(o.jump!, this.s, at));
      if (k === 'weekly') this.members.push(weeklyMember(o.weekly!, this.s, at, f32, f32At));
      if (k === 'daily') this.members.push(dailyMember(o.daily!, this.s, at, f32, f32At));
      if (k === 'levelShift') this.members.push(levelShiftMember(o.levelShift!, this.s, at));
      at += MEMBER_CELLS[k];
      f32At += sizes[i]?.f32 ?? 0;
    });
    this.likelihoods = new Likelihoods(this.members.length, likelihood, this.s, lAt);
    this.warmup = Math.max(1, o.rangeWarmup);
    this.holdWarmup = likelihood.learning + likelihood.estimation;
  }

  get stateSize(): number {
    return this.save().length;
  }

  get stateBytes(): number {
    return (
      (this.o.hold ? 8 * 8 : 6 * 8) +
      this.members.reduce((a, m) => a + m.stateBytes, 0) +
      this.members.length * this.likelihoods.size * 8
    );
  }

  private get span(): number {
    const { s } = this;
    return s[MAX]! > s[MIN]! ? s[MAX]! - s[MIN]! : 0;
  }

  /** Score of a range break, or 0 when x is within the range (with its tolerance). */
  private rangeBreak(x: number): number {
    const { o, s } = this;
    if (o.rangeTolerance <= 0 || s[SEEN]! < this.warmup) return 0;
    const span = this.span;
    const min = s[MIN]!;
    const max = s[MAX]!;
    if (span === 0) return x !== max ? 1 : 0;
    const excess = (x > max ? x - max : x < min ? min - x : 0) / span;
    if (excess <= o.rangeTolerance) return 0;
    if (o.rangeScore === 'top') return 1;
    return Math.min(1, 0.5 + (0.5 * Math.log2(excess / o.rangeTolerance)) / LOG2_8);
  }

  update(ts: number, value: number): number {
    if (!Number.isFinite(value)) return 0;
    const { o, s } = this;
    const broke = this.rangeBreak(value);
    if (broke > 0) {
      // The range's band as it was before this reading, for explain() if the range break gives the score.
      const span = this.span;
      s[LAST_BAND + 1] = s[MIN]! - o.rangeTolerance * span;
      s[LAST_BAND + 2] = s[MAX]! + o.rangeTolerance * span;
    }
    if (value < s[MIN]!) s[MIN] = value;
    if (value > s[MAX]!) s[MAX] = value;
    s[SEEN]!++;
    let score = 0;
    let model = 'none';
    let best: Member | null = null;
    let scored = 0; // members with an opinion, one bit each: their likelihoods learn
    // Members that find the reading hold.startZ typical residuals off, and witnesses that find it hold.z off
    // (z = −zScale · ln(1 − raw)).
    let far = 0;
    let off = 0;
    for (let i = 0; i < this.members.length; i++) {
      const m = this.members[i] as Member;
      const raw = m.score(ts, value);
      if (raw === null) continue;
      scored |= 1 << i;
      if (o.hold) {
        const z = -m.zScale * Math.log(1 - raw);
        if (z >= o.hold.z && m.witness) off++;
        if (z >= o.hold.startZ) far++;
      }
      const l = this.likelihoods.score(i, raw);
      if (l > score) {
        score = l;
        model = m.name;
        best = m;
      }
    }
    const hold = o.hold !== null && this.holding(ts, Math.max(score, broke), far, off, o.hold);
    for (let i = 0; i < this.members.length; i++) {
      (this.members[i] as Member).learn(ts, value, hold);
      if (scored & (1 << i)) this.likelihoods.learn(i, hold);
    }
    if (broke > 0 && broke >= score) {
      score = broke;
      model = 'range';
      best = null;
      s[LAST_BAND] = 1; // its band is in the cells already (a range break needs rangeWarmup ≥ 1 readings seen)
    } else {
      s[LAST_BAND] = best?.expectedInto(s, LAST_BAND + 1) ? 1 : 0;
    }
    s[SINCE_ALARM]!++;
    if (s[SINCE_ALARM]! <= o.rest.steps) score *= o.rest.factor;
    else if (score >= o.rest.level) s[SINCE_ALARM] = 0;
    score = Math.min(1, Math.max(0, score));
    this.lastModel = model;
    s[LAST_SCORE] = score;
    s[LAST_VALUE] = value;
    return score;
  }

  /** Whether this reading is held out of learning (from its undamped score and the members finding it far, off). */
  private holding(ts: number, score: number, far: number, off: number, h: HoldOptions): boolean {
    const { s } = this;
    if (s[SEEN]! <= this.holdWarmup) return false;
    const state = s[HOLD]!;
    if (state === 0) {
      if (far < h.members && (score < h.level || off < h.members)) return false;
      s[HOLD] = 1;
      s[HOLD_TS] = ts;
      return true;
    }
    if (off === 0) {
      s[HOLD] = 0;
      return false;
    }
    if (state === 2) return false;
    // Bounded: an anomaly that lasts maxS is the new normal and learnt (a timestamp that does not advance ends it too).
    if (ts - s[HOLD_TS]! < h.maxS * 1000) return true;
    s[HOLD] = 2;
    return false;
  }

  explain(): AnomalyExplanation {
    const { s } = this;
    const e = { model: this.lastModel, score: s[LAST_SCORE]!, observed: s[LAST_VALUE]! };
    return s[LAST_BAND] === 1 ? { ...e, expected: { low: s[LAST_BAND + 1]!, high: s[LAST_BAND + 2]! } } : e;
  }

  save(): Float64Array {
    const { s } = this;
    const sinceAlarm = s[SINCE_ALARM]!;
    const parts: number[] = [
      s[MIN]!,
      s[MAX]!,
      s[SEEN]!,
      sinceAlarm === Infinity ? -1 : sinceAlarm,
      this.members.length,
      0,
    ];
    for (let i = 0; i < this.members.length; i++) {
      const m = (this.members[i] as Member).save();
      const l = this.likelihoods.save(i);
      parts.push(m.length, ...m, l.length, ...l);
    }
    if (this.o.hold) parts.push(s[HOLD]!, s[HOLD_TS]!);
    return Float64Array.from(parts);
  }

  restore(state: Float64Array): void {
    const v = Array.from(state);
    const n = this.members.length;
    if (v[4] !== n) throw new Error(`anomaly detector state has ${v[4]} members, this detector ${n}: options changed`);
    const { s } = this;
    s[MIN] = v[0]!;
    s[MAX] = v[1]!;
    s[SEEN] = v[2]!;
    s[SINCE_ALARM] = (v[3] as number) < 0 ? Infinity : (v[3] as number);
    let at = 6;
    for (let i = 0; i < n; i++) {
      const ml = v[at++] as number;
      const member = this.members[i] as Member;
      // A state saved with other member settings (or order) has other lengths: refuse it rather than misread it.
      if (ml !== member.save().length)
        throw new Error(`anomaly detector state does not match its options (${member.name})`);
      member.load(v.slice(at, (at += ml)));
      const ll = v[at++] as number;
      this.likelihoods.load(i, v.slice(at, (at += ll)));
    }
    // A hold's two numbers close the state; one saved without them (hold was off) restores with no hold open.
    s[HOLD] = 0;
    if (this.o.hold && at === v.length - 2) {
      s[HOLD] = v[at++]!;
      s[HOLD_TS] = v[at++]!;
    }
    if (at !== v.length) throw new Error('anomaly detector state does not match its options');
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
