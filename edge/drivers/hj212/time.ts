// HJ 212 times (DataTime YYYYMMDDhhmmss, QN YYYYMMDDhhmmsszzz) are the local wall time of the monitor's city,
// without a zone. They become instants here with Intl's time-zone data (China has no DST today, but it had in
// 1986–91 and a city elsewhere may have; the conversion does it properly), no library needed.

import { isTimeZone, zoneOffsetMs } from '../../../runtime/time.js';

export { zoneOffsetMs };

/** True when Intl knows the zone (e.g. "Asia/Shanghai"). */
export const isValidTimeZone = isTimeZone;

/** The instant of a local wall time in the zone. A time in a DST gap moves forward by the gap; in an overlap the earlier instant wins. */
export function localToEpoch(
  timeZone: string,
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  s: number,
  ms = 0,
): number {
  const wall = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  const first = wall - zoneOffsetMs(timeZone, wall);
  const off = zoneOffsetMs(timeZone, first);
  const t = wall - off;
  // Near a transition the offset at the result can differ from the one we guessed with: settle on a consistent one.
  return zoneOffsetMs(timeZone, t) === off ? t : first;
}

/**
 * Parses `YYYYMMDDhhmmss` (DataTime; 12 digits without seconds are accepted) or a QN `YYYYMMDDhhmmsszzz` as local
 * time in the zone. Returns undefined for anything that is not a real calendar time.
 */
export function parseLocalTime(s: string, timeZone: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(\d{3})?$/.exec(s.trim());
  if (!m) return undefined;
  const [y, mo, d, h, mi] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [number, number, number, number, number];
  const sec = m[6] !== undefined ? Number(m[6]) : 0;
  const ms = m[7] !== undefined ? Number(m[7]) : 0;
  if (m[7] !== undefined && m[6] === undefined) return undefined;
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59) return undefined;
  if (d > new Date(Date.UTC(y, mo, 0)).getUTCDate()) return undefined;
  return localToEpoch(timeZone, y, mo, d, h, mi, sec, ms);
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `YYYYMMDDhhmmss` of instant t in the zone (what a monitor writes as DataTime). */
export function formatDataTime(t: number, timeZone: string): string {
  const l = new Date(t + zoneOffsetMs(timeZone, t));
  return `${l.getUTCFullYear()}${pad(l.getUTCMonth() + 1)}${pad(l.getUTCDate())}${pad(l.getUTCHours())}${pad(l.getUTCMinutes())}${pad(l.getUTCSeconds())}`;
}

/** `YYYYMMDDhhmmsszzz` of instant t in the zone (a QN). */
export function formatQn(t: number, timeZone: string): string {
  return `${formatDataTime(t, timeZone)}${pad(((t % 1000) + 1000) % 1000, 3)}`;
}
