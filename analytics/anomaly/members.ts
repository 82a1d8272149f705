// The members of the streaming anomaly detector: each turns a reading into a raw "surprise" in [0, 1] and can say
// what it expected. State is a fixed set of numbers and typed arrays, so a member's memory is known at creation,
// and it can be saved and restored (a restarted detectors process continues where it stopped).
import { ewmPush } from './stats.js';

/** What a member expected for the latest reading: the band a normal value would have stayed in. */
export interface Expectation {
  low: number;
  high: number;
}

export interface Member {
  /** Short name shown to staff ("jump", "weekly", …). */
  readonly name: string;
  /**
   * Raw surprise of the reading in [0, 1], or null while the member has no opinion yet (the daily profile on its
   * first day): its likelihood then learns nothing, so that it does not take the silence for the usual.
   */
  update(ts: number, x: number): number | null;
  /** The band the member expected the latest reading in (before it learnt the reading), or null while learning. */
  expected(): Expectation | null;
  /** The same band written to out[at], out[at + 1] without an object (the detector's hot path); false when none. */
  expectedInto(out: Float64Array, at: number): boolean;
  /** Bytes of state. */
  readonly stateBytes: number;
  save(): number[];
  load(state: number[]): void;
}

const squash = (z: number, zScale: number): number => 1 - Math.exp(-z / zScale);
/** The band shown to staff: the prediction ± this many typical residuals. */
const BAND = 3;

// A member's scalars live in a Float64Array it is given (the detector's one array for all its members and
// likelihoods), at its offset: as object fields each number was a heap box and each helper an object, about 1 KB a
// series more than the numbers at 100,000 series. Every member keeps its band as three cells (on, low, high).

/** The scalars' array and offset a member is given, or its own. */
function cells(count: number, s: Float64Array | undefined, at: number): [Float64Array, number] {
  return s ? [s, at] : [new Float64Array(count), 0];
}

function setBand(s: Float64Array, at: number, low: number, high: number): void {
  s[at] = 1;
  s[at + 1] = low;
  s[at + 2] = high;
}

function bandOf(s: Float64Array, at: number): Expectation | null {
  return s[at] === 1 ? { low: s[at + 1]!, high: s[at + 2]! } : null;
}

function bandInto(s: Float64Array, at: number, out: Float64Array, to: number): boolean {
  if (s[at] !== 1) return false;
  out[to] = s[at + 1]!;
  out[to + 1] = s[at + 2]!;
  return true;
}

/**
 * A typical residual size in two cells (scale, seen): an EWMA of |residual|, and the raw surprise of a new residual
 * against it.
 */
function residualNext(s: Float64Array, at: number, e: number, zScale: number, rate: number): number {
  const scale = s[at]!;
  let raw = 0;
  if (scale > 0) raw = squash(e / scale, zScale);
  else if (s[at + 1]! > 0 && e > 0) raw = 1; // the first move after a perfectly flat stretch
  s[at] = scale > 0 ? (1 - rate) * scale + rate * e : e;
  s[at + 1] = 1;
  return raw;
}

export interface JumpOptions {
  /** z at which the raw signal reaches 1 − 1/e. */
  zScale: number;
  /** EWMA rate of the typical step size. */
  scaleRate: number;
}

// Cells: prev, residual scale (2), band (3).
const J_PREV = 0;
const J_SCALE = 1;
const J_BAND = 3;

/** |x − previous x| against the usual size of a step: spikes and steps. */
class JumpMember implements Member {
  static readonly CELLS = 6;
  readonly name = 'jump';
  readonly stateBytes = 4 * 8;
  private readonly s: Float64Array;
  private readonly at: number;
  constructor(
    private readonly o: JumpOptions,
    s?: Float64Array,
    at = 0,
  ) {
    [this.s, this.at] = cells(JumpMember.CELLS, s, at);
    this.s[this.at + J_PREV] = NaN;
  }
  update(_ts: number, x: number): number {
    const { s, at } = this;
    const prev = s[at + J_PREV]!;
    if (Number.isNaN(prev)) {
      s[at + J_PREV] = x;
      return 0;
    }
    const sc = s[at + J_SCALE]!;
    if (sc > 0) setBand(s, at + J_BAND, prev - BAND * sc, prev + BAND * sc);
    else s[at + J_BAND] = 0;
    const raw = residualNext(s, at + J_SCALE, Math.abs(x - prev), this.o.zScale, this.o.scaleRate);
    s[at + J_PREV] = x;
    return raw;
  }
  expected(): Expectation | null {
    return bandOf(this.s, this.at + J_BAND);
  }
  expectedInto(out: Float64Array, to: number): boolean {
    return bandInto(this.s, this.at + J_BAND, out, to);
  }
  save(): number[] {
    const { s, at } = this;
    return [s[at + J_PREV]!, s[at + J_SCALE]!, s[at + J_SCALE + 1]!];
  }
  load(v: number[]): void {
    const { s, at } = this;
    s[at + J_PREV] = v[0]!;
    s[at + J_SCALE] = v[1]!;
    s[at + J_SCALE + 1] = v[2]!;
  }
}

// Members are classes, not closures: at 100,000 series the per-instance function objects of closures cost more
// than the state itself (measured in bench:rules).
export const jumpMember = (o: JumpOptions, s?: Float64Array, at?: number): Member => new JumpMember(o, s, at);

export interface WeeklyOptions {
  zScale: number;
  /** Time-of-week slots (336 = half-hour slots). */
  slots: number;
  /** EWMA rate of each slot's value. */
  rate: number;
  /** EWMA rate of the typical residual. */
  scaleRate: number;
}

const WEEK_MS = 7 * 86_400_000;

// Cells: residual scale (2), band (3).
const W_SCALE = 0;
const W_BAND = 2;

/**
 * |x − the usual value at this time of the week| against the usual size of that residual: a broken daily or weekly
 * cycle (a missing rush hour, a holiday). Slot means are float32 (7 significant digits are plenty for a typical
 * value) and the per-slot counts saturate at 255: 5 bytes a slot, 1.7 KB for half-hour slots.
 */
class WeeklyMember implements Member {
  static readonly CELLS = 5;
  readonly name = 'weekly';
  readonly stateBytes: number;
  private readonly mean: Float32Array;
  private readonly seen: Uint8Array;
  private readonly s: Float64Array;
  private readonly at: number;
  constructor(
    private readonly o: WeeklyOptions,
    s?: Float64Array,
    at = 0,
  ) {
    // One buffer for both arrays: each typed array costs its own header on the heap.
    const buf = new ArrayBuffer(5 * o.slots);
    this.mean = new Float32Array(buf, 0, o.slots);
    this.seen = new Uint8Array(buf, 4 * o.slots, o.slots);
    [this.s, this.at] = cells(WeeklyMember.CELLS, s, at);
    this.stateBytes = 5 * o.slots + 2 * 8;
  }
  update(ts: number, x: number): number {
    const { s, at } = this;
    s[at + W_BAND] = 0;
    if (!Number.isFinite(ts)) return 0;
    const o = this.o;
    const slot = Math.min(o.slots - 1, Math.floor(((((ts % WEEK_MS) + WEEK_MS) % WEEK_MS) / WEEK_MS) * o.slots));
    const n = this.seen[slot] as number;
    const m = this.mean[slot] as number;
    let raw = 0;
    if (n >= 2) {
      const sc = s[at + W_SCALE]!;
      if (sc > 0) setBand(s, at + W_BAND, m - BAND * sc, m + BAND * sc);
      raw = residualNext(s, at + W_SCALE, Math.abs(x - m), o.zScale, o.scaleRate);
    }
    this.mean[slot] = n === 0 ? x : (1 - o.rate) * m + o.rate * x;
    if (n < 255) this.seen[slot] = n + 1;
    return raw;
  }
  expected(): Expectation | null {
    return bandOf(this.s, this.at + W_BAND);
  }
  expectedInto(out: Float64Array, to: number): boolean {
    return bandInto(this.s, this.at + W_BAND, out, to);
  }
  save(): number[] {
    const { s, at } = this;
    return [...this.mean, ...this.seen, s[at + W_SCALE]!, s[at + W_SCALE + 1]!];
  }
  load(v: number[]): void {
    const k = this.o.slots;
    this.mean.set(v.slice(0, k));
    this.seen.set(v.slice(k, 2 * k));
    this.s[this.at + W_SCALE] = v[2 * k]!;
    this.s[this.at + W_SCALE + 1] = v[2 * k + 1]!;
  }
}

export const weeklyMember = (o: WeeklyOptions, s?: Float64Array, at?: number): Member => new WeeklyMember(o, s, at);

export interface DailyOptions {
  zScale: number;
  /** Time-of-day slots (48 = half-hour slots). */
  slots: number;
  /** Days remembered per slot; the usual value is the median of their means. */
  days: number;
  /**
   * Days a slot must have been seen before the member has an opinion on it. From 3 days the usual value is their
   * median, which outvotes one day's incident at that hour; with 2 a reading is usual when it is like either day
   * (their mean would take yesterday's incident in).
   */
  minDays: number;
  /** EWMA rate of the typical residual. */
  scaleRate: number;
}

const DAY_MS = 86_400_000;

// Cells: slot, visitSum, visitN, usual, other, residual scale (2), band (3).
const D_SLOT = 0;
const D_SUM = 1;
const D_N = 2;
const D_USUAL = 3;
const D_OTHER = 4;
const D_SCALE = 5;
const D_BAND = 7;

/**
 * |x − the usual value at this time of day| against the usual size of that residual, where the usual value is the
 * median of the means of the same slot on the last `days` days. It knows a daily cycle from the second day on (the
 * weekly profile needs a week), and the median keeps one day's incident at that hour (a dust episode, a storm) from
 * being expected again the next day. A step that a daily cycle hides (a noise meter moved next to a fan at noon) shows
 * here. It has no opinion on a slot before it was seen on `minDays` days (2: like either day; from 3: the median). Float32 slot means: 4·slots·days bytes (960
 * for 48 slots and 5 days).
 */
class DailyMember implements Member {
  static readonly CELLS = 10;
  readonly name = 'daily';
  readonly stateBytes: number;
  /** Per slot, `days` visit means (NaN = none yet), oldest overwritten first. */
  private readonly means: Float32Array;
  private readonly s: Float64Array;
  private readonly at: number;
  constructor(
    private readonly o: DailyOptions,
    s?: Float64Array,
    at = 0,
  ) {
    this.means = new Float32Array(o.slots * o.days).fill(NaN);
    [this.s, this.at] = cells(DailyMember.CELLS, s, at);
    this.s[this.at + D_SLOT] = -1;
    this.s[this.at + D_USUAL] = NaN;
    this.s[this.at + D_OTHER] = NaN;
    this.stateBytes = 4 * o.slots * o.days + 7 * 8;
  }
  /** The median of the slot's remembered means, or NaN with fewer than `minDays`; sets the other day's mean (cell). */
  private median(slot: number): number {
    const d = this.o.days;
    const xs: number[] = [];
    for (let k = 0; k < d; k++) {
      const v = this.means[slot * d + k] as number;
      if (!Number.isNaN(v)) xs.push(v);
    }
    this.s[this.at + D_OTHER] = NaN;
    if (xs.length < Math.max(1, this.o.minDays)) return NaN;
    xs.sort((a, b) => a - b);
    // Two days cannot outvote an incident on one of them, and their mean would take it in: a reading like either day
    // is usual.
    if (xs.length === 2) {
      this.s[this.at + D_OTHER] = xs[1] as number;
      return xs[0] as number;
    }
    const h = xs.length >> 1;
    return xs.length % 2 ? (xs[h] as number) : ((xs[h - 1] as number) + (xs[h] as number)) / 2;
  }
  update(ts: number, x: number): number | null {
    const { s, at } = this;
    s[at + D_BAND] = 0;
    if (!Number.isFinite(ts)) return null;
    const o = this.o;
    const now = Math.min(o.slots - 1, Math.floor(((((ts % DAY_MS) + DAY_MS) % DAY_MS) / DAY_MS) * o.slots));
    if (now !== s[at + D_SLOT]) {
      const slot = s[at + D_SLOT]!;
      if (s[at + D_N]! > 0 && slot >= 0) {
        // Shift the slot's days by one and remember this visit's mean.
        const base = slot * o.days;
        this.means.copyWithin(base, base + 1, base + o.days);
        this.means[base + o.days - 1] = s[at + D_SUM]! / s[at + D_N]!;
      }
      s[at + D_SLOT] = now;
      s[at + D_SUM] = 0;
      s[at + D_N] = 0;
      s[at + D_USUAL] = this.median(now);
    }
    s[at + D_SUM]! += x;
    s[at + D_N]!++;
    const usual = s[at + D_USUAL]!;
    if (Number.isNaN(usual)) return null;
    const sc = s[at + D_SCALE]!;
    const other = s[at + D_OTHER]!;
    const top = Number.isNaN(other) ? usual : other;
    if (sc > 0) setBand(s, at + D_BAND, usual - BAND * sc, top + BAND * sc);
    return residualNext(s, at + D_SCALE, Math.min(Math.abs(x - usual), Math.abs(x - top)), o.zScale, o.scaleRate);
  }
  expected(): Expectation | null {
    return bandOf(this.s, this.at + D_BAND);
  }
  expectedInto(out: Float64Array, to: number): boolean {
    return bandInto(this.s, this.at + D_BAND, out, to);
  }
  save(): number[] {
    return [...this.s.subarray(this.at, this.at + D_BAND), ...this.means];
  }
  load(v: number[]): void {
    this.s.set(v.slice(0, D_BAND), this.at);
    this.means.set(v.slice(D_BAND));
  }
}

export const dailyMember = (o: DailyOptions, s?: Float64Array, at?: number): Member => new DailyMember(o, s, at);

export interface LevelShiftOptions {
  zScale: number;
  /** Spans (steps) of the short and the long exponentially weighted means. */
  short: number;
  long: number;
}

// Cells: the short mean (n, mean, variance), the long one, band (3).
const L_SHORT = 0;
const L_LONG = 3;
const L_BAND = 6;

/** |short-term mean − long-term mean| / the long-term deviation: a step change or a slow drift away from the usual level. */
class LevelShiftMember implements Member {
  static readonly CELLS = 9;
  readonly name = 'level';
  readonly stateBytes = 8 * 8;
  private readonly s: Float64Array;
  private readonly at: number;
  constructor(
    private readonly o: LevelShiftOptions,
    s?: Float64Array,
    at = 0,
  ) {
    if (!(o.short >= 1)) throw new Error(`span must be ≥ 1, got ${o.short}`);
    if (!(o.long >= 1)) throw new Error(`span must be ≥ 1, got ${o.long}`);
    [this.s, this.at] = cells(LevelShiftMember.CELLS, s, at);
  }
  update(_ts: number, x: number): number {
    const { s, at } = this;
    const longN = s[at + L_LONG]!;
    const longMean = s[at + L_LONG + 1]!;
    const sd = Math.sqrt(s[at + L_LONG + 2]!);
    if (longN >= this.o.short && sd > 0) setBand(s, at + L_BAND, longMean - BAND * sd, longMean + BAND * sd);
    else s[at + L_BAND] = 0;
    ewmPush(s, at + L_SHORT, x, this.o.short);
    ewmPush(s, at + L_LONG, x, this.o.long);
    const sdNow = Math.sqrt(s[at + L_LONG + 2]!);
    return sdNow > 0 ? squash(Math.abs(s[at + L_SHORT + 1]! - s[at + L_LONG + 1]!) / sdNow, this.o.zScale) : 0;
  }
  expected(): Expectation | null {
    return bandOf(this.s, this.at + L_BAND);
  }
  expectedInto(out: Float64Array, to: number): boolean {
    return bandInto(this.s, this.at + L_BAND, out, to);
  }
  save(): number[] {
    return Array.from(this.s.subarray(this.at, this.at + L_BAND));
  }
  load(v: number[]): void {
    this.s.set(v.slice(0, L_BAND), this.at);
  }
}

export const levelShiftMember = (o: LevelShiftOptions, s?: Float64Array, at?: number): Member =>
  new LevelShiftMember(o, s, at);

/** Cells each member takes in the detector's array (`s` and `at` of the factories). */
export const MEMBER_CELLS = {
  jump: JumpMember.CELLS,
  weekly: WeeklyMember.CELLS,
  daily: DailyMember.CELLS,
  levelShift: LevelShiftMember.CELLS,
};
