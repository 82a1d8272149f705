// The city's local calendar for notices: the day an event belongs to (plate + date lookups on the party page), the
// times written in a notice's text, and the publication rule (a camera enforces from publishedAt + N days).
import { localDay, zoneOffsetMs } from '../runtime/time.js';
import type { Camera } from '../vision/cameras/config.js';

/** The local wall-clock fields of an instant (runtime/time.ts: the zone's cached offset). */
function parts(ts: number, timeZone: string): { m: number; d: number; hh: number; mm: number } {
  const t = new Date(ts + zoneOffsetMs(timeZone, ts));
  return { m: t.getUTCMonth() + 1, d: t.getUTCDate(), hh: t.getUTCHours(), mm: t.getUTCMinutes() };
}

const two = (n: number) => String(n).padStart(2, '0');

/** "11月27日 10:05": the time as an SMS says it. */
export function localTimeText(ts: number, timeZone: string): string {
  const p = parts(ts, timeZone);
  return `${p.m}月${p.d}日 ${two(p.hh)}:${two(p.mm)}`;
}

/** "10:15" on the same local day as `ref`, else "11月28日 10:15". */
export function localDeadlineText(ts: number, ref: number, timeZone: string): string {
  const p = parts(ts, timeZone);
  return localDay(ts, timeZone) === localDay(ref, timeZone)
    ? `${two(p.hh)}:${two(p.mm)}`
    : `${p.m}月${p.d}日 ${two(p.hh)}:${two(p.mm)}`;
}

/** The first day a camera published on `publishedAt` enforces: publishedAt + days (YYYY-MM-DD). */
export function enforcingFrom(publishedAt: string, days: number): string {
  const [y, m, d] = publishedAt.split('-').map(Number) as [number, number, number];
  const t = new Date(Date.UTC(y, m - 1, d + days));
  return `${t.getUTCFullYear()}-${two(t.getUTCMonth() + 1)}-${two(t.getUTCDate())}`;
}

/**
 * Whether an event that started at `ts` on this camera may be enforced: the camera's location was published at
 * least `days` days before the event's local day. An unknown camera, or one without publishedAt, enforces nothing.
 */
export function isEnforcing(
  camera: Pick<Camera, 'publishedAt'> | undefined,
  ts: number,
  days: number,
  timeZone: string,
): boolean {
  if (!camera?.publishedAt) return false;
  return localDay(ts, timeZone) >= enforcingFrom(camera.publishedAt, days);
}
