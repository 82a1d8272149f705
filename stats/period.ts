// The period of a statistics, export or report query: `from` and `to` as ISO-8601 or epoch ms, checked once here for
// every route that takes them (digits are read as a number first by the route's numericTsQuery hook, api/query.ts).
import { TimestampSchema } from '../contracts/index.js';

export const PeriodFields = {
  from: TimestampSchema.optional().describe('ISO 8601 or epoch ms, inclusive'),
  to: TimestampSchema.optional().describe('ISO 8601 or epoch ms, exclusive; default now'),
};

/** The period, `to` defaulting to now and `from` to `defaultMs` before `to`; a message when it is empty or reversed. */
export function resolvePeriod(
  p: { from?: number; to?: number },
  defaultMs: number,
  now = Date.now(),
): { from: number; to: number } | string {
  const to = p.to ?? now;
  const from = p.from ?? to - defaultMs;
  if (from >= to) return 'from must be earlier than to';
  return { from, to };
}

export const periodError = (message: string) => ({ error: 'bad_request', message });
