// The retry delay the platform uses wherever it tries again (case delivery, notice delivery, a party's wrong codes):
// doubling from a base, capped.

/** The wait before attempt `attempts + 1`: baseMs, 2·baseMs, 4·baseMs, ..., at most maxMs (attempts ≤ 1: baseMs). */
export function exponentialMs(attempts: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(30, Math.max(0, attempts - 1)));
}
