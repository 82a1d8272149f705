import { describe, expect, it } from 'vitest';
import { inWindows, isTimeZone, localTime, utcOffsetMs } from './time.js';

const SH = 'Asia/Shanghai';
/** An instant given as Shanghai wall time (UTC+8, no daylight saving). */
const sh = (local: string) => Date.parse(`${local}+08:00`);

describe('localTime', () => {
  it('gives the wall-clock minute and ISO weekday in Shanghai', () => {
    // 2026-11-27 is a Friday.
    expect(localTime(sh('2026-11-27T07:59:30'), SH)).toEqual({ minute: 7 * 60 + 59, weekday: 5 });
    expect(localTime(sh('2026-11-29T00:00:00'), SH)).toEqual({ minute: 0, weekday: 7 });
    expect(localTime(sh('2026-11-30T23:59:59'), SH)).toEqual({ minute: 1439, weekday: 1 });
    expect(utcOffsetMs(sh('2026-11-27T12:00:00'), SH)).toBe(8 * 3_600_000);
  });

  it('follows daylight saving (Europe/Berlin, 2026-03-29: 02:00 CET becomes 03:00 CEST at 01:00 UTC)', () => {
    const tz = 'Europe/Berlin';
    expect(localTime(Date.parse('2026-03-29T00:59:00Z'), tz).minute).toBe(1 * 60 + 59);
    expect(localTime(Date.parse('2026-03-29T01:00:00Z'), tz).minute).toBe(3 * 60);
    expect(utcOffsetMs(Date.parse('2026-03-29T00:30:00Z'), tz)).toBe(3_600_000);
    expect(utcOffsetMs(Date.parse('2026-03-29T01:30:00Z'), tz)).toBe(7_200_000);
  });

  it('handles instants before 1970 and offsets west of UTC', () => {
    // 1969-12-31 was a Wednesday; New York is UTC-5 in winter.
    expect(localTime(Date.parse('1969-12-31T18:00:00Z'), 'America/New_York')).toEqual({ minute: 13 * 60, weekday: 3 });
  });
});

describe('inWindows', () => {
  const day = [{ from: '08:00', to: '18:00' }];

  it('includes from and excludes to', () => {
    expect(inWindows(sh('2026-11-27T07:59:59'), day, SH)).toBe(false);
    expect(inWindows(sh('2026-11-27T08:00:00'), day, SH)).toBe(true);
    expect(inWindows(sh('2026-11-27T17:59:59'), day, SH)).toBe(true);
    expect(inWindows(sh('2026-11-27T18:00:00'), day, SH)).toBe(false);
  });

  it('wraps midnight when to is earlier than from, with days naming the day the window starts', () => {
    const night = [{ from: '22:00', to: '06:00', days: [5] }]; // Friday night
    expect(inWindows(sh('2026-11-27T21:59:00'), night, SH)).toBe(false);
    expect(inWindows(sh('2026-11-27T22:00:00'), night, SH)).toBe(true); // Friday 22:00
    expect(inWindows(sh('2026-11-28T05:59:00'), night, SH)).toBe(true); // Saturday early morning: still Friday's night
    expect(inWindows(sh('2026-11-28T06:00:00'), night, SH)).toBe(false);
    expect(inWindows(sh('2026-11-28T23:00:00'), night, SH)).toBe(false); // Saturday night is not listed
    expect(inWindows(sh('2026-11-27T03:00:00'), night, SH)).toBe(false); // Friday early morning is Thursday's night
  });

  it('takes 24:00 as the end of the day, days as ISO weekdays, and any of several windows', () => {
    const weekdaysAllDay = [{ from: '00:00', to: '24:00', days: [1, 2, 3, 4, 5] }];
    expect(inWindows(sh('2026-11-27T23:59:59'), weekdaysAllDay, SH)).toBe(true); // Friday
    expect(inWindows(sh('2026-11-28T12:00:00'), weekdaysAllDay, SH)).toBe(false); // Saturday
    expect(inWindows(sh('2026-11-29T12:00:00'), weekdaysAllDay, SH)).toBe(false); // Sunday (7, not 0)
    expect(inWindows(sh('2026-11-30T00:00:00'), weekdaysAllDay, SH)).toBe(true); // Monday
    const rush = [
      { from: '07:00', to: '09:00' },
      { from: '17:00', to: '19:00' },
    ];
    expect(inWindows(sh('2026-11-27T08:30:00'), rush, SH)).toBe(true);
    expect(inWindows(sh('2026-11-27T12:00:00'), rush, SH)).toBe(false);
    expect(inWindows(sh('2026-11-27T18:30:00'), rush, SH)).toBe(true);
    expect(inWindows(sh('2026-11-27T12:00:00'), [], SH)).toBe(false);
  });

  it('takes from equal to to as 24 hours from from', () => {
    const w = [{ from: '06:00', to: '06:00', days: [1] }];
    expect(inWindows(sh('2026-11-30T06:00:00'), w, SH)).toBe(true); // Monday 06:00
    expect(inWindows(sh('2026-12-01T05:59:00'), w, SH)).toBe(true); // Tuesday 05:59
    expect(inWindows(sh('2026-12-01T06:00:00'), w, SH)).toBe(false);
    expect(inWindows(sh('2026-11-30T05:59:00'), w, SH)).toBe(false);
  });

  it('uses wall time across a daylight-saving change (America/New_York, 2026-03-08)', () => {
    const tz = 'America/New_York';
    const w = [{ from: '03:00', to: '04:00' }];
    // 07:30 UTC is 03:30 EDT on the day clocks go forward, and 02:30 EST the day before.
    expect(inWindows(Date.parse('2026-03-08T07:30:00Z'), w, tz)).toBe(true);
    expect(inWindows(Date.parse('2026-03-07T07:30:00Z'), w, tz)).toBe(false);
    expect(inWindows(Date.parse('2026-03-07T08:30:00Z'), w, tz)).toBe(true);
  });

  it('knows the IANA zones', () => {
    expect(isTimeZone('Asia/Shanghai')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
  });
});
