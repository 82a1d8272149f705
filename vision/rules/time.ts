// Local wall time in the city's time zone, for no-parking windows and business hours. Called for every zone on
// every frame, so the zone's UTC offset is looked up with Intl once per quarter hour of UTC time and cached.
import { isTimeZone, zoneOffsetMs } from '../../runtime/time.js';
import type { TimeWindow } from '../cameras/config.js';

export { isTimeZone };

const DAY_MS = 86_400_000;
const minutesOf = new Map<string, number>();

/** The zone's offset from UTC at ts, in ms (Asia/Shanghai: +8 h). */
export function utcOffsetMs(ts: number, timeZone: string): number {
  return zoneOffsetMs(timeZone, ts);
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
