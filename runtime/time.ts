// Time zones of the city, for everything that reads or writes local wall time (HJ 212 DataTime, no-parking
// windows, business hours). One implementation: Intl's zone data, with the UTC offset looked up once per quarter
// hour of UTC time and cached, because callers run per reading or per frame.

interface ZoneClock {
  fmt: Intl.DateTimeFormat;
  /** UTC offset in ms by quarter-hour slot of UTC time. */
  offsets: Map<number, number>;
}

const SLOT_MS = 15 * 60_000;
const clocks = new Map<string, ZoneClock>();

function clock(timeZone: string): ZoneClock {
  let c = clocks.get(timeZone);
  if (!c) {
    // Throws a RangeError for an unknown zone: callers validate the zone once at start (isTimeZone).
    const fmt = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    c = { fmt, offsets: new Map() };
    clocks.set(timeZone, c);
  }
  return c;
}

function exactOffset(fmt: Intl.DateTimeFormat, ts: number): number {
  const t = Math.floor(ts / 1000) * 1000;
  let y = 0,
    mo = 0,
    d = 0,
    h = 0,
    mi = 0,
    s = 0;
  for (const part of fmt.formatToParts(t)) {
    const v = Number(part.value);
    if (part.type === 'year') y = v;
    else if (part.type === 'month') mo = v;
    else if (part.type === 'day') d = v;
    else if (part.type === 'hour') h = v;
    else if (part.type === 'minute') mi = v;
    else if (part.type === 'second') s = v;
  }
  return Date.UTC(y, mo - 1, d, h, mi, s) - t;
}

/** The zone's offset from UTC at instant ts, in ms (Asia/Shanghai: +8 h). */
export function zoneOffsetMs(timeZone: string, ts: number): number {
  const c = clock(timeZone);
  const slot = Math.floor(ts / SLOT_MS);
  const cached = c.offsets.get(slot);
  if (cached !== undefined) return cached;
  const start = exactOffset(c.fmt, slot * SLOT_MS);
  const end = exactOffset(c.fmt, (slot + 1) * SLOT_MS - 1000);
  // A transition inside the slot (none known in current tzdata, but cheap to respect): no caching.
  if (start !== end) return exactOffset(c.fmt, ts);
  if (c.offsets.size > 4096) c.offsets.clear();
  c.offsets.set(slot, start);
  return start;
}

/** Whether Intl knows the IANA zone (e.g. "Asia/Shanghai"). */
export function isTimeZone(timeZone: string): boolean {
  try {
    clock(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The local day of an instant in the zone, YYYY-MM-DD (case ids, notices, publication dates). */
export function localDay(ts: number, timeZone: string): string {
  const t = new Date(ts + zoneOffsetMs(timeZone, ts));
  return `${t.getUTCFullYear()}-${String(t.getUTCMonth() + 1).padStart(2, '0')}-${String(t.getUTCDate()).padStart(2, '0')}`;
}

/** The instant a local day (YYYY-MM-DD) begins in the zone: its midnight (reports, statistics by day). */
export function localMidnight(day: string, timeZone: string): number {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  const wall = Date.UTC(y, m - 1, d);
  // The offset at the wall time read as UTC is off by the offset itself near a change of offset: look it up again.
  const first = wall - zoneOffsetMs(timeZone, wall);
  return wall - zoneOffsetMs(timeZone, first);
}
