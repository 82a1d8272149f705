// The members of the streaming anomaly detector: each turns a reading into a raw "surprise" in [0, 1] and can say
// what it expected. State is a fixed set of numbers and typed arrays, so a member's memory is known at creation,
// and it can be saved and restored (a restarted detectors process continues where it stopped).
import { ewmNextMean, ewmNextVariance, ewmPush } from './stats.js';

/** What a member expected for the latest reading: the band a normal value would have stayed in. */
export interface Expectation {
  low: number;
  high: number;
}

export interface Member {
  /** Short name shown to staff ("jump", "weekly", …). */
  readonly name: string;
  /** z at which its raw surprise reaches 1 − 1/e (raw = 1 − exp(−z/zScale)). */
  readonly zScale: number;
  /**
   * Whether its expectation stands apart from the readings the detector holds, so that it can say a hold should go
   * on. Not the weekly member: within a slot's visit its value follows the visit's readings, and held, goes stale.
   */
  readonly witness: boolean;
  /**
   * Raw surprise of the reading in [0, 1], or null while the member has no opinion yet (the daily profile on its
   * first day): its likelihood then learns nothing, so that it does not take the silence for the usual.
   */
  update(ts: number, x: number): number | null;
  /**
   * The same surprise from what was learnt before the reading, learning nothing yet: the detector scores every member,
   * then decides whether the reading is learnt (learn). update() is score() then learn(…, false).
   */
  score(ts: number, x: number): number | null;
  /**
   * Learns the reading just scored. With `hold` (the detector finds it anomalous) the member keeps what it expected:
   * no slot value, usual band or residual scale moves towards it, so that an incident is not expected again next
   * week and does not widen the band that should catch the next one. Only what must follow every reading does (the
   * previous value, the short mean).
   */
  learn(ts: number, x: number, hold: boolean): void;
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
 * The slot tables of a detector's members, in one float32 view of the detector's buffer: each member's values, then
 * its 2-bit counts packed 12 to a float32 (integers below 2^24 are exact there). Each further buffer or view cost
 * about 100 bytes of heap at 100,000 series, as much as a daily profile's counts.
 */
export interface TableSize {
  /** Float32 numbers, counts included. */
  f32: number;
}

/** Float32 numbers holding `n` 2-bit counts. */
const countCells = (n: number): number => Math.ceil(n / 12);

/** A 2-bit count (0..3) of slot i, the counts packed 12 to a number from t[at]. */
function countOf(t: Float32Array, at: number, i: number): number {
  return ((t[at + Math.floor(i / 12)] as number) >>> ((i % 12) << 1)) & 3;
}

function setCount(t: Float32Array, at: number, i: number, n: number): void {
  const k = at + Math.floor(i / 12);
  const sh = (i % 12) << 1;
  t[k] = ((t[k] as number) & ~(3 << sh)) | (Math.min(3, n) << sh);
}

/** The float32 view and offset a member is given, or its own. */
function tables(size: TableSize, f32: Float32Array | undefined, at: number): [Float32Array, number] {
  return f32 ? [f32, at] : [new Float32Array(size.f32), 0];
}

/**
 * A typical residual size in two cells (scale, seen): an EWMA of |residual|. The raw surprise of a new residual
 * against it (residualRaw), then the residual learnt (residualLearn).
 */
function residualRaw(s: Float64Array, at: number, e: number, zScale: number): number {
  const scale = s[at]!;
  if (scale > 0) return squash(e / scale, zScale);
  return s[at + 1]! > 0 && e > 0 ? 1 : 0; // the first move after a perfectly flat stretch
}

function residualLearn(s: Float64Array, at: number, e: number, rate: number): void {
  const scale = s[at]!;
  s[at] = scale > 0 ? (1 - rate) * scale + rate * e : e;
  s[at + 1] = 1;
}

/** The slot of `ts` in a period of `period` ms cut into `slots` (half hours of a week or of a day). */
function slotOf(ts: number, period: number, slots: number): number {
  return Math.min(slots - 1, Math.floor(((((ts % period) + period) % period) / period) * slots));
}

/** Member.update, once for every member: the reading scored, then learnt. */
function scoreAndLearn<R>(
  m: { score(ts: number, x: number): R; learn(ts: number, x: number, hold: boolean): void },
  ts: number,
  x: number,
): R {
  const raw = m.score(ts, x);
  m.learn(ts, x, false);
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
  get name(): string {
    return 'jump';
  }
  get witness(): boolean {
    return true;
  }
  get zScale(): number {
    return this.o.zScale;
  }
  get stateBytes(): number {
    return 4 * 8;
  }
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
  update(ts: number, x: number): number {
    return scoreAndLearn(this, ts, x);
  }
  score(_ts: number, x: number): number {
    const { s, at } = this;
    const prev = s[at + J_PREV]!;
    if (Number.isNaN(prev)) return 0;
    const sc = s[at + J_SCALE]!;
    if (sc > 0) setBand(s, at + J_BAND, prev - BAND * sc, prev + BAND * sc);
    else s[at + J_BAND] = 0;
    return residualRaw(s, at + J_SCALE, Math.abs(x - prev), this.o.zScale);
  }
  learn(_ts: number, x: number, hold: boolean): void {
    const { s, at } = this;
    const prev = s[at + J_PREV]!;
    if (!hold && !Number.isNaN(prev)) residualLearn(s, at + J_SCALE, Math.abs(x - prev), this.o.scaleRate);
    // Steps are against the previous reading, held or not (the next reading's step is from this one).
    s[at + J_PREV] = x;
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
 * value) and the per-slot counts are 2 bits (only none, one and two or more visits matter): 4.25 bytes a slot,
 * 1.4 KB for half-hour slots.
 */
class WeeklyMember implements Member {
  static readonly CELLS = 5;
  static tableSize(o: WeeklyOptions): TableSize {
    return { f32: o.slots + countCells(o.slots) };
  }
  get name(): string {
    return 'weekly';
  }
  get witness(): boolean {
    return false;
  }
  get zScale(): number {
    return this.o.zScale;
  }
  private readonly f32: Float32Array;
  private readonly f32At: number;
  private readonly countAt: number;
  private readonly s: Float64Array;
  private readonly at: number;
  constructor(
    private readonly o: WeeklyOptions,
    s?: Float64Array,
    at = 0,
    f32?: Float32Array,
    f32At = 0,
  ) {
    [this.s, this.at] = cells(WeeklyMember.CELLS, s, at);
    [this.f32, this.f32At] = tables(WeeklyMember.tableSize(o), f32, f32At);
    this.countAt = this.f32At + o.slots;
  }
  get stateBytes(): number {
    const t = WeeklyMember.tableSize(this.o);
    return 4 * t.f32 + 2 * 8;
  }
  update(ts: number, x: number): number {
    return scoreAndLearn(this, ts, x);
  }
  score(ts: number, x: number): number {
    const { s, at } = this;
    s[at + W_BAND] = 0;
    if (!Number.isFinite(ts)) return 0;
    const slot = slotOf(ts, WEEK_MS, this.o.slots);
    if (countOf(this.f32, this.countAt, slot) < 2) return 0;
    const m = this.f32[this.f32At + slot] as number;
    const sc = s[at + W_SCALE]!;
    if (sc > 0) setBand(s, at + W_BAND, m - BAND * sc, m + BAND * sc);
    return residualRaw(s, at + W_SCALE, Math.abs(x - m), this.o.zScale);
  }
  learn(ts: number, x: number, hold: boolean): void {
    // A held reading leaves the slot as it was (on its first visit, empty): last week's incident is not what this
    // time of the week is expected to look like next week.
    if (hold || !Number.isFinite(ts)) return;
    const o = this.o;
    const slot = slotOf(ts, WEEK_MS, o.slots);
    const { f32 } = this;
    const n = countOf(f32, this.countAt, slot);
    const m = f32[this.f32At + slot] as number;
    if (n >= 2) residualLearn(this.s, this.at + W_SCALE, Math.abs(x - m), o.scaleRate);
    f32[this.f32At + slot] = n === 0 ? x : (1 - o.rate) * m + o.rate * x;
    if (n < 3) setCount(f32, this.countAt, slot, n + 1);
  }
  expected(): Expectation | null {
    return bandOf(this.s, this.at + W_BAND);
  }
  expectedInto(out: Float64Array, to: number): boolean {
    return bandInto(this.s, this.at + W_BAND, out, to);
  }
  // The saved layout is the one of the byte counts (a count a slot), so states saved before the counts were packed
  // restore as they are.
  save(): number[] {
    const { s, at } = this;
    const k = this.o.slots;
    const out = Array.from(this.f32.subarray(this.f32At, this.f32At + k));
    for (let i = 0; i < k; i++) out.push(countOf(this.f32, this.countAt, i));
    out.push(s[at + W_SCALE]!, s[at + W_SCALE + 1]!);
    return out;
  }
  load(v: number[]): void {
    const k = this.o.slots;
    this.f32.set(v.slice(0, k), this.f32At);
    for (let i = 0; i < k; i++) setCount(this.f32, this.countAt, i, v[k + i]!);
    this.s[this.at + W_SCALE] = v[2 * k]!;
    this.s[this.at + W_SCALE + 1] = v[2 * k + 1]!;
  }
}

export const weeklyMember = (
  o: WeeklyOptions,
  s?: Float64Array,
  at?: number,
  f32?: Float32Array,
  f32At?: number,
): Member => new WeeklyMember(o, s, at, f32, f32At);

export interface DailyOptions {
  zScale: number;
  /** Time-of-day slots (48 = half-hour slots). */
  slots: number;
  /**
   * Visits (days) a slot must have been seen on before the member has an opinion on it, 1 to 3. With 2 a reading is
   * usual when it is like either day; from 3 the usual value is robust (the median of the first three days, then a
   * clipped running mean), which outvotes one day's incident at that hour.
   */
  minDays: number;
  /** Weight of a new day in a slot's usual value and spread (0.2: about the last five days). */
  rate: number;
  /**
   * A day moves a slot's usual value by at most this many typical deviations (the slot's spread, at least the
   * member's typical residual): an incident at that hour yesterday is not expected again today.
   */
  clip: number;
  /** EWMA rate of the typical residual. */
  scaleRate: number;
}

const DAY_MS = 86_400_000;

// Cells: slot, visitSum, visitN, the current slot's usual band (low, high), residual scale (2), band (3).
const D_SLOT = 0;
const D_SUM = 1;
const D_N = 2;
const D_LOW = 3;
const D_HIGH = 4;
const D_SCALE = 5;
const D_BAND = 7;

/**
 * |x − the usual band at this time of day| against the usual size of that residual. The band comes from the means of
 * the same slot on earlier days, kept as two float32 numbers a slot and a 2-bit count of days: after one day that
 * day's mean; after two, the band between both days (a reading like either is usual, an incident on one of them is
 * not averaged in); from the third day the median of the three with their median deviation, then a running mean and
 * mean deviation whose daily step is clipped, so that one day's incident (a dust episode, a storm) moves them a little
 * and is not expected the next day. The band is the usual value ± its deviation. It knows a daily cycle from the
 * second day on (the weekly profile needs a week): a step that a daily cycle hides (a noise meter moved next to a fan
 * at night, inside the day's range) shows here. 8.25 bytes a slot (396 for half-hour slots), where five days of means
 * took 960.
 */
class DailyMember implements Member {
  static readonly CELLS = 10;
  static tableSize(o: DailyOptions): TableSize {
    return { f32: 2 * o.slots + countCells(o.slots) };
  }
  get name(): string {
    return 'daily';
  }
  get witness(): boolean {
    return true;
  }
  get zScale(): number {
    return this.o.zScale;
  }
  private readonly f32: Float32Array;
  private readonly f32At: number;
  private readonly countAt: number;
  private readonly s: Float64Array;
  private readonly at: number;
  constructor(
    private readonly o: DailyOptions,
    s?: Float64Array,
    at = 0,
    f32?: Float32Array,
    f32At = 0,
  ) {
    if (!(o.minDays >= 1 && o.minDays <= 3)) throw new Error(`daily minDays must be 1 to 3, got ${o.minDays}`);
    [this.s, this.at] = cells(DailyMember.CELLS, s, at);
    [this.f32, this.f32At] = tables(DailyMember.tableSize(o), f32, f32At);
    this.countAt = this.f32At + 2 * o.slots;
    this.s[this.at + D_SLOT] = -1;
    this.s[this.at + D_LOW] = NaN;
  }
  get stateBytes(): number {
    const t = DailyMember.tableSize(this.o);
    return 4 * t.f32 + 7 * 8;
  }
  /** Folds one day's mean of a slot into its summary (a, b at f32[i], f32[i + 1]). */
  private learnDay(slot: number, v: number): void {
    const { f32 } = this;
    const i = this.f32At + 2 * slot;
    const n = countOf(f32, this.countAt, slot);
    const a = f32[i] as number;
    const b = f32[i + 1] as number;
    if (n === 0) f32[i] = v;
    else if (n === 1) {
      // Two days: the band between them.
      f32[i] = Math.min(a, v);
      f32[i + 1] = Math.max(a, v);
    } else if (n === 2) {
      // Three days: their median and median deviation (an incident on one day is outvoted).
      const m = Math.max(a, Math.min(b, v));
      f32[i] = m;
      f32[i + 1] = [m - a, b - m, Math.abs(v - m)].sort((x, y) => x - y)[1] as number;
    } else {
      // From then on a running mean and mean deviation, each day's step clipped at a few of the slot's own
      // deviations (the member's residual scale would not do: an incident inflates it, and lets itself in).
      const lim = this.o.clip * Math.max(b, 1e-4 * Math.abs(a));
      const e = Math.max(-lim, Math.min(lim, v - a));
      f32[i] = a + this.o.rate * e;
      f32[i + 1] = b + this.o.rate * (Math.abs(e) - b);
    }
    if (n < 3) setCount(f32, this.countAt, slot, n + 1);
  }
  /** The usual band of a slot into the cells (NaN while it has fewer than minDays days). */
  private bandOfSlot(slot: number): void {
    const { s, at } = this;
    const { f32 } = this;
    const i = this.f32At + 2 * slot;
    const n = countOf(f32, this.countAt, slot);
    const a = f32[i] as number;
    const b = f32[i + 1] as number;
    s[at + D_LOW] = NaN;
    if (n < this.o.minDays) return;
    if (n === 1) [s[at + D_LOW], s[at + D_HIGH]] = [a, a];
    else if (n === 2) [s[at + D_LOW], s[at + D_HIGH]] = [a, b];
    else [s[at + D_LOW], s[at + D_HIGH]] = [a, a];
  }
  update(ts: number, x: number): number | null {
    return scoreAndLearn(this, ts, x);
  }
  score(ts: number, x: number): number | null {
    const { s, at } = this;
    s[at + D_BAND] = 0;
    if (!Number.isFinite(ts)) return null;
    const now = slotOf(ts, DAY_MS, this.o.slots);
    if (now !== s[at + D_SLOT]) {
      // A new slot: the day's mean of the one before is learnt (the readings of it that were learnt).
      const slot = s[at + D_SLOT]!;
      if (s[at + D_N]! > 0 && slot >= 0) this.learnDay(slot, s[at + D_SUM]! / s[at + D_N]!);
      s[at + D_SLOT] = now;
      s[at + D_SUM] = 0;
      s[at + D_N] = 0;
      this.bandOfSlot(now);
    }
    const low = s[at + D_LOW]!;
    if (Number.isNaN(low)) return null;
    const high = s[at + D_HIGH]!;
    const sc = s[at + D_SCALE]!;
    if (sc > 0) setBand(s, at + D_BAND, low - BAND * sc, high + BAND * sc);
    return residualRaw(s, at + D_SCALE, Math.min(Math.abs(x - low), Math.abs(x - high)), this.o.zScale);
  }
  learn(ts: number, x: number, hold: boolean): void {
    // A held reading counts neither in its slot's mean of the day nor in the typical residual.
    if (!Number.isFinite(ts)) return;
    const { s, at } = this;
    if (hold) return;
    s[at + D_SUM]! += x;
    s[at + D_N]!++;
    const low = s[at + D_LOW]!;
    if (Number.isNaN(low)) return;
    const high = s[at + D_HIGH]!;
    residualLearn(s, at + D_SCALE, Math.min(Math.abs(x - low), Math.abs(x - high)), this.o.scaleRate);
  }
  expected(): Expectation | null {
    return bandOf(this.s, this.at + D_BAND);
  }
  expectedInto(out: Float64Array, to: number): boolean {
    return bandInto(this.s, this.at + D_BAND, out, to);
  }
  // Saved: the cells, then the slots' two numbers, then their counts (a layout of 7 + 3·slots numbers; the earlier
  // five days of means, 7 + 5·slots, are refused by length and the series learns again).
  save(): number[] {
    const k = this.o.slots;
    const out = Array.from(this.s.subarray(this.at, this.at + D_BAND));
    out.push(...this.f32.subarray(this.f32At, this.f32At + 2 * k));
    for (let i = 0; i < k; i++) out.push(countOf(this.f32, this.countAt, i));
    return out;
  }
  load(v: number[]): void {
    const k = this.o.slots;
    this.s.set(v.slice(0, D_BAND), this.at);
    this.f32.set(v.slice(D_BAND, D_BAND + 2 * k), this.f32At);
    for (let i = 0; i < k; i++) setCount(this.f32, this.countAt, i, v[D_BAND + 2 * k + i]!);
  }
}

export const dailyMember = (
  o: DailyOptions,
  s?: Float64Array,
  at?: number,
  f32?: Float32Array,
  f32At?: number,
): Member => new DailyMember(o, s, at, f32, f32At);

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
  get name(): string {
    return 'level';
  }
  get witness(): boolean {
    return true;
  }
  get zScale(): number {
    return this.o.zScale;
  }
  get stateBytes(): number {
    return 8 * 8;
  }
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
  update(ts: number, x: number): number {
    return scoreAndLearn(this, ts, x);
  }
  score(_ts: number, x: number): number {
    const { s, at } = this;
    const longN = s[at + L_LONG]!;
    const longMean = s[at + L_LONG + 1]!;
    const sd = Math.sqrt(s[at + L_LONG + 2]!);
    if (longN >= this.o.short && sd > 0) setBand(s, at + L_BAND, longMean - BAND * sd, longMean + BAND * sd);
    else s[at + L_BAND] = 0;
    // The means with x in, as learn() will make them.
    const sdNow = Math.sqrt(ewmNextVariance(s, at + L_LONG, x, this.o.long));
    const shift = Math.abs(ewmNextMean(s, at + L_SHORT, x, this.o.short) - ewmNextMean(s, at + L_LONG, x, this.o.long));
    return sdNow > 0 ? squash(shift / sdNow, this.o.zScale) : 0;
  }
  learn(_ts: number, x: number, hold: boolean): void {
    const { s, at } = this;
    ewmPush(s, at + L_SHORT, x, this.o.short);
    // A held reading stays out of the long mean and its deviation (an incident would widen it and hide the next step).
    if (!hold) ewmPush(s, at + L_LONG, x, this.o.long);
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

/** Slot tables of the members that have them (the detector puts them in its one buffer). */
export const MEMBER_TABLES = {
  weekly: WeeklyMember.tableSize,
  daily: DailyMember.tableSize,
};
