// Small numeric helpers for the streaming anomaly detector: fixed-size rolling statistics and the normal tail.

/** Mean and variance of the last `capacity` values, O(1) per push, fixed memory. */
export class RollingStats {
  private readonly buf: Float64Array;
  private next = 0;
  private count = 0;
  private sum = 0;
  private sumSq = 0;
  private pushes = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`capacity must be a positive integer, got ${capacity}`);
    this.buf = new Float64Array(capacity);
  }

  push(x: number): void {
    if (this.count === this.capacity) {
      const old = this.buf[this.next] as number;
      this.sum -= old;
      this.sumSq -= old * old;
    } else {
      this.count++;
    }
    this.buf[this.next] = x;
    this.sum += x;
    this.sumSq += x * x;
    this.next = (this.next + 1) % this.capacity;
    // Running sums drift with cancellation: recompute them exactly once per buffer length.
    if (++this.pushes % this.capacity === 0) this.resum();
  }

  private resum(): void {
    let s = 0;
    let q = 0;
    for (let i = 0; i < this.count; i++) {
      const v = this.buf[i] as number;
      s += v;
      q += v * v;
    }
    this.sum = s;
    this.sumSq = q;
  }

  get size(): number {
    return this.count;
  }

  get mean(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }

  /** Population variance (never negative). */
  get variance(): number {
    if (this.count < 2) return 0;
    const m = this.sum / this.count;
    return Math.max(0, this.sumSq / this.count - m * m);
  }

  /** Numbers held: the buffer plus a few scalars. */
  get stateSize(): number {
    return this.capacity + 6;
  }

  save(): number[] {
    return [this.next, this.count, this.sum, this.sumSq, this.pushes, ...this.buf];
  }

  load(s: number[]): void {
    [this.next, this.count, this.sum, this.sumSq, this.pushes] = s as [number, number, number, number, number];
    this.buf.set(s.slice(5, 5 + this.capacity));
  }
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
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Two-sided normal tail: P(|X − mean| ≥ |x − mean|)/2 for X ~ N(mean, sd²), i.e. Q(|z|). */
export function normalTail(x: number, mean: number, sd: number): number {
  const z = Math.abs(x - mean) / sd;
  return 0.5 * erfc(z / Math.SQRT2);
}
