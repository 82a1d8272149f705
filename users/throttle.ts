// Which password checks may run: the login throttle in front of the KDF. It decides before scrypt runs, counting
// every check in flight (FailureLimiter), per address, per (account, address) and per account, so a burst sent at
// once gets the same answer as the same guesses sent one by one. The reasoning is in README.md ("Failed logins").
import { FailureLimiter, IN_FLIGHT_RETRY_MS, type LimitRule } from './limiter.js';

export interface LoginLimits {
  /** Failed and running checks from one address, any username. Default 20 per 15 min. */
  perAddress: LimitRule;
  /** Failed and running checks of one username from one address. Default 5 per 15 min. */
  perAccountAddress: LimitRule;
  /** Failed and running checks of one username from all addresses; at this many the account is under attack. Default 10 per 15 min. */
  perAccount: LimitRule;
  /** An account under attack takes at most one check this often from addresses it does not know. Default 1 s. */
  unfamiliarEveryMs: number;
  /** Checks from unfamiliar addresses running or waiting for the KDF at once, all accounts together. Default 16. */
  maxInFlight: number;
  /** An address an account signed in from stays familiar this long. Default 30 days. */
  familiarForMs: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  perAddress: { max: 20, windowMs: 15 * 60_000 },
  perAccountAddress: { max: 5, windowMs: 15 * 60_000 },
  perAccount: { max: 10, windowMs: 15 * 60_000 },
  unfamiliarEveryMs: 1000,
  maxInFlight: 16,
  familiarForMs: 30 * 24 * 3600_000,
};

/** A password check let through: say how it went, exactly once (a second call does nothing). */
export interface LoginAttempt {
  failed(): void;
  succeeded(): void;
}

export type Admission = { ok: true; attempt: LoginAttempt } | { ok: false; retryAfterMs: number };

// Kept at most, per map: a flood of random usernames and addresses must not grow memory.
const MAX_KEYS = 10_000;

export class LoginThrottle {
  readonly limits: LoginLimits;
  private readonly perAddress: FailureLimiter;
  private readonly perPair: FailureLimiter;
  private readonly perAccount: FailureLimiter;
  /** (account, address) → when the account last signed in from there. */
  private readonly familiar = new Map<string, number>();
  /** account → when its last check from an unfamiliar address started while it was under attack. */
  private readonly lastUnfamiliar = new Map<string, number>();
  private unfamiliarInFlight = 0;

  constructor(
    limits: Partial<LoginLimits> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.limits = { ...DEFAULT_LOGIN_LIMITS, ...limits };
    this.perAddress = new FailureLimiter(this.limits.perAddress, now, MAX_KEYS);
    this.perPair = new FailureLimiter(this.limits.perAccountAddress, now, MAX_KEYS);
    this.perAccount = new FailureLimiter(this.limits.perAccount, now, MAX_KEYS);
  }

  private isFamiliar(pair: string, t: number): boolean {
    const at = this.familiar.get(pair);
    return at !== undefined && t - at < this.limits.familiarForMs;
  }

  /** Is the account under attack (its failed and running checks at the per-account limit)? */
  underAttack(account: string): boolean {
    return this.perAccount.blockedFor(account) > 0;
  }

  /**
   * May `account` be checked now for a login from `address`? When it may, the check is counted from now on and the
   * caller reports how it went; when not, how long to wait.
   */
  admit(account: string, address: string): Admission {
    const t = this.now();
    const pair = `${account}\0${address}`;
    const wait = Math.max(this.perAddress.blockedFor(address), this.perPair.blockedFor(pair));
    if (wait > 0) return { ok: false, retryAfterMs: wait };
    const familiar = this.isFamiliar(pair, t);
    if (!familiar) {
      // Bounds what one burst spread over many addresses can queue for the KDF.
      if (this.unfamiliarInFlight >= this.limits.maxInFlight) return { ok: false, retryAfterMs: IN_FLIGHT_RETRY_MS };
      if (this.underAttack(account)) {
        // One guess per address per window while the account is under attack, one such check a second: guessing
        // from many addresses is slowed without refusing the owner, who comes from an address that has not failed.
        const failedHere = this.perPair.failedFor(pair, 1);
        if (failedHere > 0) return { ok: false, retryAfterMs: failedHere };
        const next = (this.lastUnfamiliar.get(account) ?? -Infinity) + this.limits.unfamiliarEveryMs;
        if (t < next) return { ok: false, retryAfterMs: next - t };
        if (this.lastUnfamiliar.size >= MAX_KEYS) this.lastUnfamiliar.clear();
        this.lastUnfamiliar.set(account, t);
      }
    }
    const counted = [this.perAddress.begin(address), this.perPair.begin(pair), this.perAccount.begin(account)];
    if (!familiar) this.unfamiliarInFlight++;
    let open = true;
    const settle = (ok: boolean) => {
      if (!open) return;
      open = false;
      if (!familiar) this.unfamiliarInFlight--;
      for (const c of counted) ok ? c.end() : c.fail();
      if (ok) {
        this.perPair.reset(pair);
        this.familiar.delete(pair);
        if (this.familiar.size >= MAX_KEYS) this.familiar.delete(this.familiar.keys().next().value!);
        this.familiar.set(pair, this.now());
      }
    };
    return { ok: true, attempt: { failed: () => settle(false), succeeded: () => settle(true) } };
  }
}
