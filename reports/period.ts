// The period a report covers: the local day, the week (Monday to Sunday) or the calendar month that contains a date.
import { localDay, localMidnight } from '../runtime/time.js';

export const REPORT_KINDS = ['daily', 'weekly', 'monthly'] as const;
export type ReportKind = (typeof REPORT_KINDS)[number];

export interface ReportPeriod {
  kind: ReportKind;
  from: number;
  to: number;
  /** First and last local day, YYYY-MM-DD. */
  firstDay: string;
  lastDay: string;
}

const addDays = (day: string, n: number) => {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
};

/** The report's period for a local date (default: today in the zone). */
export function reportPeriod(
  kind: ReportKind,
  date: string | undefined,
  timeZone: string,
  now = Date.now(),
): ReportPeriod {
  const day = date ?? localDay(now, timeZone);
  let first = day;
  let next: string;
  if (kind === 'daily') next = addDays(day, 1);
  else if (kind === 'weekly') {
    const [y, m, d] = day.split('-').map(Number) as [number, number, number];
    const weekday = (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7; // Monday 0
    first = addDays(day, -weekday);
    next = addDays(first, 7);
  } else {
    first = `${day.slice(0, 7)}-01`;
    const [y, m] = day.split('-').map(Number) as [number, number];
    next = new Date(Date.UTC(y, m, 1)).toISOString().slice(0, 10);
  }
  return {
    kind,
    from: localMidnight(first, timeZone),
    to: localMidnight(next, timeZone),
    firstDay: first,
    lastDay: addDays(next, -1),
  };
}
