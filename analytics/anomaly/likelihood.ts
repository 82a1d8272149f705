// Anomaly likelihood: turns a stream of raw surprise values in [0, 1] into a calibrated, log-scaled score.
// The idea is the one Numenta published for HTM ("Unsupervised real-time anomaly detection for streaming
// data", Ahmad et al., Neurocomputing 2017): compare a short moving average of the raw values with the
// distribution (a Gaussian fitted to a long history) of that same average, and report how improbable the
// current average is. A raw signal that is always noisy therefore scores low; a change in its behaviour
// scores high, whatever the series' units. Unlike Numenta's sliding window of 8640 values, the long history
// here is an exponentially weighted mean and variance with the same span: O(1) memory per series, the same
// NAB score within noise (see analytics/nab/README.md).
import { ewmPush, normalTail, rollingCells, rollingMean, rollingPush } from './stats.js';

export interface LikelihoodOptions {
  /** Moving-average length of the raw values (steps). */
  averaging: number;
  /** Span (steps) of the exponentially weighted history the Gaussian is fitted to. */
  history: number;
  /** Steps before anything is learnt (the raw values of a fresh model are meaningless). */
  learning: number;
  /** History length needed before a likelihood is reported (until then the score is neutral). */
  estimation: number;
  /** Floors of the fitted mean and variance, so that a silent raw signal does not make every blip extreme. */
  minMean: number;
  minVariance: number;
  /**
   * A tail probability below 1 − redLevel is "red". Only the first red step of a run keeps its value; the
   * following consecutive red steps are lowered to 1 − yellowLevel, so one event gives one strong alarm.
   */
  redLevel: number;
  yellowLevel: number;
}

export const DEFAULT_LIKELIHOOD: LikelihoodOptions = {
  averaging: 10,
  history: 8640,
  learning: 150,
  estimation: 150,
  minMean: 0.03,
  minVariance: 0.003,
  redLevel: 0.99999,
  yellowLevel: 0.999,
};

const LOG_1E_10 = Math.log(1e-10);

/** log(1 − L) / log(1e−10), clamped to [0, 1]: L = 1 − 1e−5 maps to 0.5, L = 0.5 to 0.03. */
export function logScale(likelihood: number): number {
  return Math.min(1, Math.max(0, Math.log(1.0000000001 - likelihood) / LOG_1E_10));
}

// The state of one likelihood, in the order save() has always written it: [steps, prevTail], the long history
// (n, mean, variance), the short average (next, count, sum, sumSq, pushes, then its `averaging` values).
const STEPS = 0;
const PREV_TAIL = 1;
const HISTORY = 2; // n, mean, variance (ewmPush)
const RECENT = 5; // the rolling window of `averaging` values (rollingPush)

/**
 * `count` likelihoods with the same options, their whole state in one Float64Array. The detector keeps one per
 * member; as objects (a likelihood, its rolling average and its history, each with a typed array) they cost about
 * 520 bytes a member, more than their numbers, at 100,000 series.
 */
export class Likelihoods {
  readonly opts: LikelihoodOptions;
  /** Numbers per likelihood. */
  readonly size: number;
  private readonly s: Float64Array;
  private readonly at: number;

  /** Numbers one likelihood with these (complete) options takes. */
  static cellsOf(o: LikelihoodOptions): number {
    return RECENT + rollingCells(o.averaging);
  }

  /** In `s` from `at` when given (the detector's one array for all its state), else in an array of its own. */
  constructor(count: number, options: Partial<LikelihoodOptions> = {}, s?: Float64Array, at = 0) {
    // A complete options object is kept as it is (shared by many series), a partial one completed.
    this.opts =
      Object.keys(options).length === Object.keys(DEFAULT_LIKELIHOOD).length
        ? (options as LikelihoodOptions)
        : { ...DEFAULT_LIKELIHOOD, ...options };
    if (!Number.isInteger(this.opts.averaging) || this.opts.averaging < 1)
      throw new Error(`capacity must be a positive integer, got ${this.opts.averaging}`);
    if (!(this.opts.history >= 1)) throw new Error(`span must be ≥ 1, got ${this.opts.history}`);
    this.size = Likelihoods.cellsOf(this.opts);
    this.s = s ?? new Float64Array(count * this.size);
    this.at = s ? at : 0;
    for (let i = 0; i < count; i++) this.s[this.at + i * this.size + PREV_TAIL] = 1;
  }

  /** Feeds likelihood `i` one raw value in [0, 1]; returns its log-scaled likelihood in [0, 1]. */
  update(i: number, raw: number): number {
    const l = this.score(i, raw);
    this.learn(i, false);
    return l;
  }

  /**
   * update() in two steps: the likelihood of one raw value against the history so far (the short average takes the
   * value), then learn() puts the average into the history, or not when the detector holds the reading as anomalous
   * (an incident's surprises would widen the history's spread and hide the next incident).
   */
  score(i: number, raw: number): number {
    const o = this.opts;
    const s = this.s;
    const b = this.at + i * this.size;
    s[b + STEPS]!++;
    rollingPush(s, b + RECENT, o.averaging, raw);
    let tail = 0.5;
    if (s[b + STEPS]! > o.learning && s[b + HISTORY]! >= o.estimation) {
      const mean = Math.max(o.minMean, s[b + HISTORY + 1]!);
      const sd = Math.sqrt(Math.max(o.minVariance, s[b + HISTORY + 2]!));
      tail = normalTail(rollingMean(s, b + RECENT), mean, sd);
    }
    const red = 1 - o.redLevel;
    let reported = tail;
    if (tail <= red && s[b + PREV_TAIL]! <= red) reported = 1 - o.yellowLevel;
    s[b + PREV_TAIL] = tail;
    return logScale(1 - reported);
  }

  /** Learns the average of the raw value score(i, …) just took (nothing with `hold`, nor while learning). */
  learn(i: number, hold: boolean): void {
    const o = this.opts;
    const b = this.at + i * this.size;
    if (hold || !(this.s[b + STEPS]! > o.learning)) return;
    ewmPush(this.s, b + HISTORY, rollingMean(this.s, b + RECENT), o.history);
  }

  save(i: number): number[] {
    const b = this.at + i * this.size;
    return Array.from(this.s.subarray(b, b + this.size));
  }

  load(i: number, state: number[]): void {
    if (state.length !== this.size)
      throw new Error(`likelihood state has ${state.length} numbers, expected ${this.size}`);
    this.s.set(state, this.at + i * this.size);
  }
}
