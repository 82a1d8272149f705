// Which readings answer a query: raw, or the 15-minute aggregates the retention job keeps (operations/retention/).
// Aggregates when the range reaches back before the raw readings kept (they are gone there) or spans more days than a
// chart can show point by point; raw otherwise, and always without `from` (the latest readings).
export type Resolution = 'raw' | '15m';

export interface ResolutionPolicy {
  /** Raw readings are kept this many days (readings.rawDays). */
  rawDays: number;
  /** A longer range is answered from the aggregates (readings.rawQueryMaxDays). */
  rawQueryMaxDays: number;
}

const DAY_MS = 86_400_000;

export function pickResolution(
  p: ResolutionPolicy,
  q: { from?: number | undefined; to?: number | undefined },
  now: number,
): Resolution {
  if (q.from === undefined) return 'raw';
  if (q.from < now - p.rawDays * DAY_MS) return '15m';
  return (q.to ?? now) - q.from > p.rawQueryMaxDays * DAY_MS ? '15m' : 'raw';
}
