// The period of a statistics, export or report query: `from` and `to` as ISO-8601 or epoch ms, checked once here for
// every route that takes them.
import { numericTs } from '../api/query.js';
import { TimestampSchema } from '../contracts/index.js';


export const PeriodFields = { from: TimestampSchema.optional(), to: TimestampSchema.optional() };

/** Query values with from/to turned into numbers where they are digits, for a schema with PeriodFields. */
export function withNumericPeriod(query: unknown): Record<string, unknown> {
  const raw = { ...(query as Record<string, unknown>) };
  if (raw.from !== undefined) raw.from = numericTs(raw.from);
  if (raw.to !== undefined) raw.to = numericTs(raw.to);
  return raw;
}

/** The period, `to` defaulting to now and `from` to `defaultMs` before `to`; a message when it is empty or reversed. */
export function resolvePeriod(p: { from?: number; to?: number }, defaultMs: number, now = Date.now()): { from: number; to: number } | string {
  const to = p.to ?? now;
  const from = p.from ?? to - defaultMs;
  if (from >= to) return 'from must be earlier than to';
  return { from, to };
}

export const periodError = (message: string) => ({ error: 'bad_request', message });
