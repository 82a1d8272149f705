// Local time of day in the city's time zone, fast enough for every reading: the zone's UTC offset comes from
// runtime/time.ts, looked up with Intl once per quarter hour and cached.
import { zoneOffsetMs } from '../../runtime/time.js';
export class LocalClock {
  private readonly dayStart: number;
  private readonly dayEnd: number;

  constructor(
    private readonly timeZone: string,
    day: { start: string; end: string },
  ) {
    this.dayStart = minutes(day.start);
    this.dayEnd = minutes(day.end);
  }

  /** Minutes since local midnight. */
  minuteOfDay(ts: number): number {
    const m = Math.floor((ts + zoneOffsetMs(this.timeZone, ts)) / 60_000);
    return ((m % 1440) + 1440) % 1440;
  }

  isDay(ts: number): boolean {
    const m = this.minuteOfDay(ts);
    return this.dayStart <= this.dayEnd ? m >= this.dayStart && m < this.dayEnd : m >= this.dayStart || m < this.dayEnd;
  }
}

function minutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h! * 60 + m!;
}
