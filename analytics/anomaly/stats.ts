// Small numeric helpers for the streaming anomaly detector: rolling and exponentially weighted statistics, the normal tail.

// The detector keeps its numbers in one Float64Array per series (detector.ts): these helpers work on cells of it,
// `s` from offset `at`, rather than on objects of their own (each object and each boxed number cost more than the
// numbers at 100,000 series).

/** Cells of a rolling window of `capacity` values: next, count, sum, sumSq, pushes, then the values. */
export const rollingCells = (capacity: number): number => 5 + capacity;

/** Pushes x into the rolling window of `capacity` values at s[at]: mean and variance of the last values, O(1). */
export function rollingPush(s: Float64Array, at: number, capacity: number, x: number): void {
  const next = s[at]!;
  if (s[at + 1] === capacity) {
    const old = s[at + 5 + next]!;
    s[at + 2]! -= old;
    s[at + 3]! -= old * old;
  } else {
    s[at + 1]!++;
  }
  s[at + 5 + next] = x;
  s[at + 2]! += x;
  s[at + 3]! += x * x;
  s[at] = (next + 1) % capacity;
  // Running sums drift with cancellation: recompute them exactly once per buffer length.
  if (++s[at + 4]! % capacity === 0) {
    let sum = 0;
    let sq = 0;
    const count = s[at + 1]!;
    for (let k = 0; k < count; k++) {
      const v = s[at + 5 + k]!;
      sum += v;
      sq += v * v;
    }
    s[at + 2] = sum;
    s[at + 3] = sq;
  }
}

export function rollingMean(s: Float64Array, at: number): number {
  const count = s[at + 1]!;
  return count === 0 ? 0 : s[at + 2]! / count;
}

/** Population variance of the window (never negative). */
export function rollingVariance(s: Float64Array, at: number): number {
  const count = s[at + 1]!;
  if (count < 2) return 0;
  const m = s[at + 2]! / count;
  return Math.max(0, s[at + 3]! / count - m * m);
}

/**
 * Pushes x into the exponentially weighted mean and variance in three cells at s[at] (n, mean, variance), with an
 * effective memory of about `span` values; the first values get equal weights (rate max(1/n, 1/span)), so early
 * estimates are plain averages.
 */
export function ewmPush(s: Float64Array, at: number, x: number, span: number): void {
  const mean = ewmNextMean(s, at, x, span);
  s[at + 2] = ewmNextVariance(s, at, x, span);
  s[at + 1] = mean;
  s[at]!++;
}

/** The mean ewmPush(s, at, x, span) leaves, without pushing. */
export function ewmNextMean(s: Float64Array, at: number, x: number, span: number): number {
  const a = Math.max(1 / (s[at]! + 1), 1 / span);
  return s[at + 1]! + a * (x - s[at + 1]!);
}

/** The variance ewmPush(s, at, x, span) leaves, without pushing. */
export function ewmNextVariance(s: Float64Array, at: number, x: number, span: number): number {
  const a = Math.max(1 / (s[at]! + 1), 1 / span);
  const d = x - s[at + 1]!;
  return (1 - a) * (s[at + 2]! + a * d * d);
}

/** Complementary error function (Numerical Recipes' erfcc: relative error < 1.2e-7 everywhere). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Two-sided normal tail: P(|X − mean| ≥ |x − mean|)/2 for X ~ N(mean, sd²), i.e. Q(|z|). */
export function normalTail(x: number, mean: number, sd: number): number {
  const z = Math.abs(x - mean) / sd;
  return 0.5 * erfc(z / Math.SQRT2);
}
