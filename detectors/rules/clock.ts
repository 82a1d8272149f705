// Local time of day in the city's time zone, fast enough for every reading: the UTC offset is looked up with Intl
// once per hour and cached (offsets change at most at hour boundaries, e.g. for daylight saving).
export class LocalClock {
  private readonly fmt: Intl.DateTimeFormat;
  private readonly offsets = new Map<number, number>();
  private readonly dayStart: number;
  private readonly dayEnd: number;

  constructor(timeZone: string, day: { start: string; end: string }) {
    this.fmt = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
    this.dayStart = minutes(day.start);
    this.dayEnd = minutes(day.end);
  }

  /** Minutes since local midnight. */
  minuteOfDay(ts: number): number {
    const hour = Math.floor(ts / 3_600_000);
    let off = this.offsets.get(hour);
    if (off === undefined) {
      const p = Object.fromEntries(this.fmt.formatToParts(hour * 3_600_000).map((x) => [x.type, x.value]));
      const asUtc = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute));
      off = Math.round((asUtc - hour * 3_600_000) / 60_000);
      if (this.offsets.size > 10_000) this.offsets.clear();
      this.offsets.set(hour, off);
    }
    const m = Math.floor(ts / 60_000) + off;
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
