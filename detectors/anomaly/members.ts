// The members of the streaming anomaly detector: each turns a reading into a raw "surprise" in [0, 1] and can say
// what it expected. State is a fixed set of numbers and typed arrays, so a member's memory is known at creation,
// and it can be saved and restored (a restarted detectors process continues where it stopped).
import { EwmStats } from './stats.js';

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
  /** Bytes of state. */
  readonly stateBytes: number;
  save(): number[];
  load(state: number[]): void;
}

const squash = (z: number, zScale: number): number => 1 - Math.exp(-z / zScale);
/** The band shown to staff: the prediction ± this many typical residuals. */
const BAND = 3;

/** The range of every reading seen so far (the range break). */
export class RunningRange {
  min = Infinity;
  max = -Infinity;
  seen = 0;
  push(x: number): void {
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
    this.seen++;
  }
  get span(): number {
    return this.max > this.min ? this.max - this.min : 0;
  }
  save(): number[] {
    return [this.min, this.max, this.seen];
  }
  load(s: number[]): void {
    [this.min, this.max, this.seen] = s as [number, number, number];
  }
}

/** A typical residual size: an EWMA of |residual|, and the raw surprise of a new residual against it. */
class ResidualScale {
  scale = 0;
  seen = 0;
  constructor(
    private readonly zScale: number,
    private readonly rate: number,
  ) {}
  next(e: number): number {
    let raw = 0;
    if (this.scale > 0) raw = squash(e / this.scale, this.zScale);
    else if (this.seen > 0 && e > 0) raw = 1; // the first move after a perfectly flat stretch
    this.scale = this.scale > 0 ? (1 - this.rate) * this.scale + this.rate * e : e;
    this.seen = 1;
    return raw;
  }
  save(): number[] {
    return [this.scale, this.seen];
  }
  load(s: number[]): void {
    [this.scale, this.seen] = s as [number, number];
  }
}

export interface JumpOptions {
  /** z at which the raw signal reaches 1 − 1/e. */
  zScale: number;
  /** EWMA rate of the typical step size. */
  scaleRate: number;
}

/** |x − previous x| against the usual size of a step: spikes and steps. */
class JumpMember implements Member {
  readonly name = 'jump';
  readonly stateBytes = 4 * 8;
  private readonly scale: ResidualScale;
  private prev = NaN;
  private band: Expectation | null = null;
  constructor(o: JumpOptions) {
    this.scale = new ResidualScale(o.zScale, o.scaleRate);
  }
  update(_ts: number, x: number): number {
    if (Number.isNaN(this.prev)) {
      this.prev = x;
      return 0;
    }
    const sc = this.scale.scale;
    this.band = sc > 0 ? { low: this.prev - BAND * sc, high: this.prev + BAND * sc } : null;
    const raw = this.scale.next(Math.abs(x - this.prev));
    this.prev = x;
    return raw;
  }
  expected(): Expectation | null {
    return this.band;
  }
  save(): number[] {
    return [this.prev, ...this.scale.save()];
  }
  load(s: number[]): void {
    this.prev = s[0] as number;
    this.scale.load(s.slice(1));
  }
}

// Members are classes, not closures: at 100,000 series the per-instance function objects of closures cost more
// than the state itself (measured in bench:rules).
export const jumpMember = (o: JumpOptions): Member => new JumpMember(o);

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

/**
 * |x − the usual value at this time of the week| against the usual size of that residual: a broken daily or weekly
 * cycle (a missing rush hour, a holiday). Slot means are float32 (7 significant digits are plenty for a typical
 * value) and the per-slot counts saturate at 255: 5 bytes a slot, 1.7 KB for half-hour slots.
 */
class WeeklyMember implements Member {
  readonly name = 'weekly';
  readonly stateBytes: number;
  private readonly mean: Float32Array;
  private readonly seen: Uint8Array;
  private readonly scale: ResidualScale;
  private band: Expectation | null = null;
  constructor(private readonly o: WeeklyOptions) {
    // One buffer for both arrays: each typed array costs its own header on the heap.
    const buf = new ArrayBuffer(5 * o.slots);
    this.mean = new Float32Array(buf, 0, o.slots);
    this.seen = new Uint8Array(buf, 4 * o.slots, o.slots);
    this.scale = new ResidualScale(o.zScale, o.scaleRate);
    this.stateBytes = 5 * o.slots + 2 * 8;
  }
  update(ts: number, x: number): number {
    this.band = null;
    if (!Number.isFinite(ts)) return 0;
    const o = this.o;
    const slot = Math.min(o.slots - 1, Math.floor(((((ts % WEEK_MS) + WEEK_MS) % WEEK_MS) / WEEK_MS) * o.slots));
    const n = this.seen[slot] as number;
    const m = this.mean[slot] as number;
    let raw = 0;
    if (n >= 2) {
      const sc = this.scale.scale;
      if (sc > 0) this.band = { low: m - BAND * sc, high: m + BAND * sc };
      raw = this.scale.next(Math.abs(x - m));
    }
    this.mean[slot] = n === 0 ? x : (1 - o.rate) * m + o.rate * x;
    if (n < 255) this.seen[slot] = n + 1;
    return raw;
  }
  expected(): Expectation | null {
    return this.band;
  }
  save(): number[] {
    return [...this.mean, ...this.seen, ...this.scale.save()];
  }
  load(s: number[]): void {
    const k = this.o.slots;
    this.mean.set(s.slice(0, k));
    this.seen.set(s.slice(k, 2 * k));
    this.scale.load(s.slice(2 * k));
  }
}

/**
 * |x − the usual value at this time of the week| against the usual size of that residual: a broken daily or weekly
 * cycle (a missing rush hour, a holiday). Slot means are float32 (7 significant digits are plenty for a typical
 * value) and the per-slot counts saturate at 255: 5 bytes a slot, 1.7 KB for half-hour slots.
 */
export const weeklyMember = (o: WeeklyOptions): Member => new WeeklyMember(o);

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

/**
 * |x − the usual value at this time of day| against the usual size of that residual, where the usual value is the
 * median of the means of the same slot on the last `days` days. It knows a daily cycle from the second day on (the
 * weekly profile needs a week), and the median keeps one day's incident at that hour (a dust episode, a storm) from
 * being expected again the next day. A step that a daily cycle hides (a noise meter moved next to a fan at noon) shows
 * here. It has no opinion on a slot before it was seen on `minDays` days (2: like either day; from 3: the median). Float32 slot means: 4·slots·days bytes (960
 * for 48 slots and 5 days).
 */
class DailyMember implements Member {
  readonly name = 'daily';
  readonly stateBytes: number;
  /** Per slot, `days` visit means (NaN = none yet), oldest overwritten first. */
  private readonly means: Float32Array;
  private readonly scale: ResidualScale;
  private slot = -1;
  private visitSum = 0;
  private visitN = 0;
  private usual = NaN;
  /** With exactly two days seen, the other day's mean (usual is the lower one); NaN otherwise. */
  private other = NaN;
  private band: Expectation | null = null;
  constructor(private readonly o: DailyOptions) {
    this.means = new Float32Array(o.slots * o.days).fill(NaN);
    this.scale = new ResidualScale(o.zScale, o.scaleRate);
    this.stateBytes = 4 * o.slots * o.days + 7 * 8;
  }
  /** The median of the slot's remembered means, or NaN with fewer than two. */
  private median(slot: number): number {
    const d = this.o.days;
    const xs: number[] = [];
    for (let k = 0; k < d; k++) {
      const v = this.means[slot * d + k] as number;
      if (!Number.isNaN(v)) xs.push(v);
    }
    this.other = NaN;
    if (xs.length < Math.max(1, this.o.minDays)) return NaN;
    xs.sort((a, b) => a - b);
    // Two days cannot outvote an incident on one of them, and their mean would take it in: a reading like either day
    // is usual.
    if (xs.length === 2) {
      this.other = xs[1] as number;
      return xs[0] as number;
    }
    const h = xs.length >> 1;
    return xs.length % 2 ? (xs[h] as number) : ((xs[h - 1] as number) + (xs[h] as number)) / 2;
  }
  update(ts: number, x: number): number | null {
    this.band = null;
    if (!Number.isFinite(ts)) return null;
    const o = this.o;
    const now = Math.min(o.slots - 1, Math.floor(((((ts % DAY_MS) + DAY_MS) % DAY_MS) / DAY_MS) * o.slots));
    if (now !== this.slot) {
      if (this.visitN > 0 && this.slot >= 0) {
        // Shift the slot's days by one and remember this visit's mean.
        const base = this.slot * o.days;
        this.means.copyWithin(base, base + 1, base + o.days);
        this.means[base + o.days - 1] = this.visitSum / this.visitN;
      }
      this.slot = now;
      this.visitSum = 0;
      this.visitN = 0;
      this.usual = this.median(now);
    }
    this.visitSum += x;
    this.visitN++;
    if (Number.isNaN(this.usual)) return null;
    const sc = this.scale.scale;
    const top = Number.isNaN(this.other) ? this.usual : this.other;
    if (sc > 0) this.band = { low: this.usual - BAND * sc, high: top + BAND * sc };
    return this.scale.next(Math.min(Math.abs(x - this.usual), Math.abs(x - top)));
  }
  expected(): Expectation | null {
    return this.band;
  }
  save(): number[] {
    return [this.slot, this.visitSum, this.visitN, this.usual, this.other, ...this.scale.save(), ...this.means];
  }
  load(s: number[]): void {
    [this.slot, this.visitSum, this.visitN, this.usual, this.other] = s as [number, number, number, number, number];
    this.scale.load(s.slice(5, 7));
    this.means.set(s.slice(7));
  }
}

export const dailyMember = (o: DailyOptions): Member => new DailyMember(o);

export interface LevelShiftOptions {
  zScale: number;
  /** Spans (steps) of the short and the long exponentially weighted means. */
  short: number;
  long: number;
}

/** |short-term mean − long-term mean| / the long-term deviation: a step change or a slow drift away from the usual level. */
class LevelShiftMember implements Member {
  readonly name = 'level';
  readonly stateBytes: number;
  private readonly short: EwmStats;
  private readonly long: EwmStats;
  private band: Expectation | null = null;
  constructor(private readonly o: LevelShiftOptions) {
    this.short = new EwmStats(o.short);
    this.long = new EwmStats(o.long);
    this.stateBytes = (this.short.stateSize + this.long.stateSize) * 8;
  }
  update(_ts: number, x: number): number {
    const { short, long } = this;
    const sd = Math.sqrt(long.variance);
    this.band = long.size >= this.o.short && sd > 0 ? { low: long.mean - BAND * sd, high: long.mean + BAND * sd } : null;
    short.push(x);
    long.push(x);
    const sdNow = Math.sqrt(long.variance);
    return sdNow > 0 ? squash(Math.abs(short.mean - long.mean) / sdNow, this.o.zScale) : 0;
  }
  expected(): Expectation | null {
    return this.band;
  }
  save(): number[] {
    return [...this.short.save(), ...this.long.save()];
  }
  load(s: number[]): void {
    this.short.load(s.slice(0, 3));
    this.long.load(s.slice(3, 6));
  }
}

export const levelShiftMember = (o: LevelShiftOptions): Member => new LevelShiftMember(o);
