// Counts failures per key (a username, an IP address) in a sliding window, so that password guessing slows to a
// handful of tries per window. Attempts are counted from the moment they start, not when their KDF run ends: a
// burst sent at once would otherwise pass the check together before the first failure is counted (a check-then-
// count race). In memory: a restart forgets the counts, which costs an attacker a restart of the platform per
// window, not worth persisting for.

export interface LimitRule {
  /** Failures (and attempts in flight) allowed in the window; the next attempt is refused until one leaves it. */
  max: number;
  windowMs: number;
}

/** An attempt counted against its key while it runs: `fail()` turns it into a failure, `end()` drops it. */
export interface Attempt {
  fail(): void;
  end(): void;
}

/** How long a key blocked only by attempts in flight is asked to wait: they end within a KDF run or two. */
export const IN_FLIGHT_RETRY_MS = 1000;

export class FailureLimiter {
  private readonly failures = new Map<string, number[]>();
  private readonly inFlight = new Map<string, number>();
  private readonly waiters = new Map<string, (() => void)[]>();

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

  /** Failures of `key` in the window. */
  failuresOf(key: string): number {
    return this.recent(key, this.now()).length;
  }

  /** Attempts of `key` started and not yet ended. */
  inFlightOf(key: string): number {
    return this.inFlight.get(key) ?? 0;
  }

  /** Milliseconds until `key`'s failures alone allow another attempt; 0 when they do. */
  failedFor(key: string, max = this.rule.max): number {
    const t = this.now();
    const list = this.recent(key, t);
    if (list.length < max) return 0;
    return Math.max(1, list[list.length - max]! + this.rule.windowMs - t);
  }

  /** Milliseconds until `key` may start another attempt (failures and attempts in flight together); 0 when now. */
  blockedFor(key: string): number {
    const failed = this.recent(key, this.now()).length;
    const busy = this.inFlightOf(key);
    if (failed + busy < this.rule.max) return 0;
    // Failures alone leave no room: wait for them to age out. Otherwise an attempt in flight will end soon.
    return failed >= this.rule.max ? this.failedFor(key) : IN_FLIGHT_RETRY_MS;
  }

  /** Starts an attempt: it counts against `key` until it fails or ends (each at most once). */
  begin(key: string): Attempt {
    this.inFlight.set(key, this.inFlightOf(key) + 1);
    let open = true;
    const settle = (failed: boolean) => {
      if (!open) return;
      open = false;
      const n = this.inFlightOf(key) - 1;
      if (n > 0) this.inFlight.set(key, n);
      else this.inFlight.delete(key);
      if (failed) this.fail(key);
      const w = this.waiters.get(key);
      if (w) {
        this.waiters.delete(key);
        for (const wake of w) wake();
      }
    };
    return { fail: () => settle(true), end: () => settle(false) };
  }

  /** Resolves when an attempt of `key` now in flight fails or ends (at once when none is in flight). */
  settled(key: string): Promise<void> {
    if (this.inFlightOf(key) === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const w = this.waiters.get(key);
      if (w) w.push(resolve);
      else this.waiters.set(key, [resolve]);
    });
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
