// Anomaly likelihood: turns a stream of raw surprise values in [0, 1] into a calibrated, log-scaled score.
// The idea is the one Numenta published for HTM ("Unsupervised real-time anomaly detection for streaming
// data", Ahmad et al., Neurocomputing 2017): compare a short moving average of the raw values with the
// distribution (a Gaussian fitted to a long history) of that same average, and report how improbable the
// current average is. A raw signal that is always noisy therefore scores low; a change in its behaviour
// scores high, whatever the series' units. Unlike Numenta's sliding window of 8640 values, the long history
// here is an exponentially weighted mean and variance with the same span: O(1) memory per series, the same
// NAB score within noise (see detectors/nab/README.md).
import { EwmStats, RollingStats, normalTail } from './stats.js';

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

export class AnomalyLikelihood {
  private readonly opts: LikelihoodOptions;
  private readonly recent: RollingStats;
  private readonly history: EwmStats;
  private steps = 0;
  private prevTail = 1;

  constructor(options: Partial<LikelihoodOptions> = {}) {
    // A complete options object is kept as it is (shared by many series), a partial one completed.
    this.opts = Object.keys(options).length === Object.keys(DEFAULT_LIKELIHOOD).length ? (options as LikelihoodOptions) : { ...DEFAULT_LIKELIHOOD, ...options };
    this.recent = new RollingStats(this.opts.averaging);
    this.history = new EwmStats(this.opts.history);
  }

  /** Feeds one raw value in [0, 1]; returns the log-scaled likelihood in [0, 1]. */
  update(raw: number): number {
    const o = this.opts;
    this.steps++;
    this.recent.push(raw);
    const avg = this.recent.mean;
    let tail = 0.5;
    if (this.steps > o.learning) {
      if (this.history.size >= o.estimation) {
        const mean = Math.max(o.minMean, this.history.mean);
        const sd = Math.sqrt(Math.max(o.minVariance, this.history.variance));
        tail = normalTail(avg, mean, sd);
      }
      this.history.push(avg);
    }
    const red = 1 - o.redLevel;
    let reported = tail;
    if (tail <= red && this.prevTail <= red) reported = 1 - o.yellowLevel;
    this.prevTail = tail;
    return logScale(1 - reported);
  }

  get stateSize(): number {
    return this.recent.stateSize + this.history.stateSize + 2;
  }

  save(): number[] {
    return [this.steps, this.prevTail, ...this.history.save(), ...this.recent.save()];
  }

  load(s: number[]): void {
    [this.steps, this.prevTail] = s as [number, number];
    this.history.load(s.slice(2, 5));
    this.recent.load(s.slice(5));
  }
}
