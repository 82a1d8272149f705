// Slows and then stops a client that guesses query codes (or plates and days). Each failed look-up is counted per
// client in a sliding window and answered after a delay that doubles with the client's recent failures; after `max`
// failures every look-up of that client is refused (429) until the oldest failure leaves the window. Look-ups in
// flight count too, so a burst of parallel guesses cannot all slip in before the first of them has failed.
// In memory, like users/limiter.ts: a restart forgets the counts, which costs a guesser a restart per window.
import { exponentialMs } from '../runtime/backoff.js';

export interface ProbeRule {
  max: number;
  windowMs: number;
  delayBaseMs: number;
  delayMaxMs: number;
}

interface Entry {
  failures: number[];
  inflight: number;
}

export class ProbeGuard {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly rule: ProbeRule,
    private readonly now: () => number = Date.now,
    /** Clients kept at most; the oldest go first (a flood of addresses must not grow memory). */
    private readonly maxKeys = 10_000,
  ) {}

  private entry(key: string, create: boolean): Entry | undefined {
    let e = this.entries.get(key);
    if (e) {
      const from = this.now() - this.rule.windowMs;
      while (e.failures.length > 0 && e.failures[0]! <= from) e.failures.shift();
      if (e.failures.length === 0 && e.inflight === 0 && !create) {
        this.entries.delete(key);
        return undefined;
      }
    } else if (create) {
      if (this.entries.size >= this.maxKeys) this.entries.delete(this.entries.keys().next().value!);
      e = { failures: [], inflight: 0 };
      this.entries.set(key, e);
    }
    return e;
  }

  /** Milliseconds until `key` may look up again; 0 when it may now. */
  blockedFor(key: string): number {
    const e = this.entry(key, false);
    if (!e || e.failures.length + e.inflight < this.rule.max) return 0;
    // Over the limit with look-ups still in flight: they end within a moment, try again in a second.
    if (e.failures.length < this.rule.max) return 1000;
    return Math.max(1, e.failures[e.failures.length - this.rule.max]! + this.rule.windowMs - this.now());
  }

  /** Starts a look-up: false (refuse with 429) when the client is over its limit. Pair with end(). */
  begin(key: string): boolean {
    if (this.blockedFor(key) > 0) return false;
    this.entry(key, true)!.inflight++;
    return true;
  }

  /**
   * Ends a look-up started with begin(). A failure is counted and the delay to answer it with is returned (ms); a
   * success costs nothing and resets nothing (one valid code must not buy a guesser a fresh window).
   */
  end(key: string, ok: boolean): number {
    const e = this.entry(key, true)!;
    if (e.inflight > 0) e.inflight--;
    if (ok) return 0;
    e.failures.push(this.now());
    // More than max is never needed to compute the wait.
    if (e.failures.length > this.rule.max) e.failures.shift();
    return this.delayFor(e.failures.length);
  }

  /** Recent failures of a client. */
  failures(key: string): number {
    return this.entry(key, false)?.failures.length ?? 0;
  }

  private delayFor(n: number): number {
    if (this.rule.delayBaseMs <= 0) return 0;
    return exponentialMs(n, this.rule.delayBaseMs, this.rule.delayMaxMs);
  }
}

/**
 * One log line per key per interval: a guesser's thousand failures make a handful of lines, each saying how many
 * were left out since the last.
 */
export class LogThrottle {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 10_000,
  ) {}

  /** Whether to log now, and how many were left out before. */
  take(key: string): { log: boolean; suppressed: number } {
    const t = this.now();
    const cur = this.last.get(key);
    if (cur && t - cur.at < this.intervalMs) {
      cur.suppressed++;
      return { log: false, suppressed: 0 };
    }
    if (!cur && this.last.size >= this.maxKeys) this.last.delete(this.last.keys().next().value!);
    const suppressed = cur?.suppressed ?? 0;
    this.last.set(key, { at: t, suppressed: 0 });
    return { log: true, suppressed };
  }
}
