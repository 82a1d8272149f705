// Counts failures per key (a username, an IP address) in a sliding window, so that password guessing slows to a
// handful of tries per window. In memory: a restart forgets the counts, which costs an attacker a restart of the
// platform per window, not worth persisting for.

export interface LimitRule {
  /** Failures allowed in the window; the next attempt is refused until the oldest one leaves the window. */
  max: number;
  windowMs: number;
}

export class FailureLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly rule: LimitRule,
    private readonly now: () => number = Date.now,
    /** Keys kept at most; the oldest go first (a flood of random usernames must not grow memory). */
    private readonly maxKeys = 10_000,
  ) {}

  private recent(key: string, t: number): number[] {
    const list = this.failures.get(key);
    if (!list) return [];
    const from = t - this.rule.windowMs;
    while (list.length > 0 && list[0]! <= from) list.shift();
    if (list.length === 0) this.failures.delete(key);
    return list;
  }

  /** Milliseconds until `key` may try again; 0 when it may now. */
  blockedFor(key: string): number {
    const t = this.now();
    const list = this.recent(key, t);
    if (list.length < this.rule.max) return 0;
    return Math.max(1, list[list.length - this.rule.max]! + this.rule.windowMs - t);
  }

  fail(key: string): void {
    const t = this.now();
    const list = this.recent(key, t);
    if (list.length === 0) {
      if (this.failures.size >= this.maxKeys) this.failures.delete(this.failures.keys().next().value!);
      this.failures.set(key, list);
    }
    list.push(t);
    // More than max is never needed to compute the wait.
    if (list.length > this.rule.max) list.shift();
  }

  reset(key: string): void {
    this.failures.delete(key);
  }
}
