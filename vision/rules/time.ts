// Local wall time in the city's time zone, for no-parking windows and business hours. Called for every zone on
// every frame, so the zone's UTC offset is looked up with Intl once per quarter hour of UTC time and cached.
import type { TimeWindow } from '../cameras/config.js';

interface ZoneClock {
  fmt: Intl.DateTimeFormat;
  /** UTC offset in ms by quarter-hour slot of UTC time. */
  offsets: Map<number, number>;
}

const SLOT_MS = 15 * 60_000;
const DAY_MS = 86_400_000;
const clocks = new Map<string, ZoneClock>();
const minutesOf = new Map<string, number>();

function clock(timeZone: string): ZoneClock {
  let c = clocks.get(timeZone);
  if (!c) {
    // Throws a RangeError for an unknown zone: callers validate the zone once at start (see assertTimeZone).
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
  let y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
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

/** The zone's offset from UTC at ts, in ms (Asia/Shanghai: +8 h). */
export function utcOffsetMs(ts: number, timeZone: string): number {
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

/** Local minute of the day (0..1439) and ISO weekday (1 = Monday .. 7 = Sunday) at ts. */
export function localTime(ts: number, timeZone: string): { minute: number; weekday: number } {
  const local = ts + utcOffsetMs(ts, timeZone);
  const day = Math.floor(local / DAY_MS);
  const minute = Math.floor((local - day * DAY_MS) / 60_000);
  // 1970-01-01 was a Thursday (ISO 4).
  const weekday = ((((day + 3) % 7) + 7) % 7) + 1;
  return { minute, weekday };
}

function minutes(hhmm: string): number {
  let m = minutesOf.get(hhmm);
  if (m === undefined) {
    const match = /^(\d{2}):(\d{2})$/.exec(hhmm);
    if (!match) throw new RangeError(`time "${hhmm}" is not HH:MM`);
    m = Number(match[1]) * 60 + Number(match[2]);
    if (m > 1440) throw new RangeError(`time "${hhmm}" is past 24:00`);
    minutesOf.set(hhmm, m);
  }
  return m;
}

/**
 * Whether ts falls in one of the windows, in local wall time of timeZone. A window runs from `from` (included) to
 * `to` (excluded); `24:00` is the end of the day. `to` earlier than `from` runs past midnight, and `days` then name
 * the day the window starts on: 22:00–06:00 on Friday covers Friday 22:00 to Saturday 06:00. `from` equal to `to`
 * is 24 hours from `from`. No windows: never.
 */
export function inWindows(ts: number, windows: readonly TimeWindow[], timeZone: string): boolean {
  if (windows.length === 0) return false;
  const { minute, weekday } = localTime(ts, timeZone);
  const yesterday = weekday === 1 ? 7 : weekday - 1;
  for (const w of windows) {
    const from = minutes(w.from);
    const to = minutes(w.to);
    const on = (d: number) => !w.days || w.days.includes(d);
    if (from < to) {
      if (minute >= from && minute < to && on(weekday)) return true;
    } else if ((minute >= from && on(weekday)) || (minute < to && on(yesterday))) {
      return true;
    }
  }
  return false;
}

/** Whether Intl knows the IANA zone. */
export function isTimeZone(timeZone: string): boolean {
  try {
    clock(timeZone);
    return true;
  } catch {
    return false;
  }
}
