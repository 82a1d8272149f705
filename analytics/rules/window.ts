// Rolling aggregates over a time window, one per (rule, device). Memory is bounded by the window length divided
// by the device's report interval; the update is O(1) amortised.
export type AggregateFn = 'last' | 'mean' | 'leq' | 'max' | 'min';

export class RollingWindow {
  private ts: number[] = [];
  private vs: number[] = [];
  private head = 0;
  private sum = 0;
  /** Monotonic deque of indexes for max/min. */
  private mono: number[] = [];
  private monoHead = 0;

  constructor(
    private readonly fn: AggregateFn,
    private readonly windowMs: number,
  ) {}

  /** Adds a sample (timestamps must not decrease) and returns the aggregate over (ts - window, ts]. */
  push(ts: number, v: number): number {
    if (this.fn === 'last') return v;
    const x = this.fn === 'leq' ? 10 ** (v / 10) : v;
    const idx = this.ts.length; // array index of the new sample
    this.ts.push(ts);
    this.vs.push(x);
    if (this.fn === 'mean' || this.fn === 'leq') this.sum += x;
    else {
      const worse = this.fn === 'max' ? (a: number) => a <= x : (a: number) => a >= x;
      while (this.mono.length > this.monoHead && worse(this.vs[this.mono[this.mono.length - 1]!]!)) this.mono.pop();
      this.mono.push(idx);
    }
    // Evict samples that left the window.
    const from = ts - this.windowMs;
    while (this.head < this.ts.length - 1 && this.ts[this.head]! <= from) {
      if (this.fn === 'mean' || this.fn === 'leq') this.sum -= this.vs[this.head]!;
      this.head++;
    }
    while (this.monoHead < this.mono.length && this.mono[this.monoHead]! < this.head) this.monoHead++;
    this.compact();
    const n = this.ts.length - this.head;
    switch (this.fn) {
      case 'mean':
        return this.sum / n;
      case 'leq':
        return 10 * Math.log10(this.sum / n);
      default:
        return this.vs[this.mono[this.monoHead]!]!;
    }
  }

  /** Number of samples held (for memory accounting and tests). */
  get size(): number {
    return this.ts.length - this.head;
  }

  // Drop the evicted prefix now and then, and re-add the sum from scratch so floating-point drift cannot build up.
  private compact(): void {
    if (this.head < 64 || this.head * 2 < this.ts.length) return;
    const shift = this.head;
    this.ts = this.ts.slice(shift);
    this.vs = this.vs.slice(shift);
    this.mono = this.mono.slice(this.monoHead).map((i) => i - shift);
    this.monoHead = 0;
    this.head = 0;
    if (this.fn === 'mean' || this.fn === 'leq') this.sum = this.vs.reduce((a, b) => a + b, 0);
  }
}
