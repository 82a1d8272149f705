// Counts and rates over a period, grouped by district, grid cell, device, site or type: what the bureau's monthly
// assessment (考核) is counted from. Pure: it reads records from `StatsSources` and adds them up, so the same sums
// serve GET /api/stats, the export and the PDF reports, and can be tested on the real stores without HTTP.
import type { Alert } from '../alerts/types.js';
import type { CaseView } from '../cases/types.js';
import type { Notice } from '../notices/types.js';
import type { StoredEvent } from '../review/store.js';
import { placeFromRecord, type PlaceOf } from './place.js';

export const STATS_GROUPS = ['district', 'grid', 'device', 'site', 'type'] as const;
export type StatsGroup = (typeof STATS_GROUPS)[number];

/** Sensor kinds whose threshold alerts count as hours in exceedance (dust and noise at sites, fumes at restaurants). */
export const EXCEEDANCE_KINDS: ReadonlySet<string> = new Set(['dust', 'noise', 'fume']);

/** The records of the period; each source may give more (the sums check the period themselves). */
export interface StatsSources {
  alerts(from: number, to: number): AsyncIterable<Alert>;
  events(from: number, to: number): AsyncIterable<StoredEvent>;
  notices(from: number, to: number): AsyncIterable<Notice>;
  cases(from: number, to: number): AsyncIterable<CaseView>;
}

export interface StatsRow {
  /** The group's value: a district, grid cell, device id, site or type; '' when unknown (a device without a cell). */
  key: string;
  /** The district of the group's records, for grid, device and site rows (the first seen). */
  district?: string;
  alerts: { raised: number; bySeverity: Record<string, number> };
  /** Hours the group's dust, noise and fume threshold alerts were open within the period. */
  exceedanceHours: number;
  events: {
    detected: number;
    pending: number;
    confirmed: number;
    rejected: number;
    rejectReasons: Record<string, number>;
  };
  notices: { sent: number; correctedAfterNotice: number };
  cases: { filed: number; delivered: number; failed: number };
  rates: { confirmed: number | null; correctedAfterNotice: number | null; delivered: number | null };
}

export interface Stats {
  group: StatsGroup;
  from: number;
  to: number;
  rows: StatsRow[];
  total: StatsRow;
}

function emptyRow(key: string): StatsRow {
  return {
    key,
    alerts: { raised: 0, bySeverity: {} },
    exceedanceHours: 0,
    events: { detected: 0, pending: 0, confirmed: 0, rejected: 0, rejectReasons: {} },
    notices: { sent: 0, correctedAfterNotice: 0 },
    cases: { filed: 0, delivered: 0, failed: 0 },
    rates: { confirmed: null, correctedAfterNotice: null, delivered: null },
  };
}

const inc = (m: Record<string, number>, k: string, by = 1) => {
  m[k] = (m[k] ?? 0) + by;
};
const ratio = (n: number, d: number) => (d === 0 ? null : Math.round((n / d) * 10_000) / 10_000);
const HOUR = 3_600_000;

/** Milliseconds of [a, b) inside [from, to). */
function overlap(a: number, b: number, from: number, to: number): number {
  return Math.max(0, Math.min(b, to) - Math.max(a, from));
}

export interface StatsOptions {
  group: StatsGroup;
  from: number;
  to: number;
  placeOf?: PlaceOf;
  /** Now, for alerts still open (their exceedance runs to now). */
  now?: number;
}

/**
 * Counts per group. What falls in the period: alerts whose episode began in it (raised), and the part of every
 * threshold alert's episode inside it (exceedance hours); events that started in it, with their review as it stands;
 * notices and cases created in it, with their outcome and delivery as they stand.
 */
export async function computeStats(src: StatsSources, o: StatsOptions): Promise<Stats> {
  const placeOf = o.placeOf ?? placeFromRecord;
  const now = o.now ?? Date.now();
  const rows = new Map<string, StatsRow>();
  const total = emptyRow('');
  const rowFor = (ref: { deviceId: string; district: string; grid?: string | null }, type: string): StatsRow => {
    const p = placeOf(ref);
    const key =
      o.group === 'district'
        ? p.district
        : o.group === 'grid'
          ? (p.grid ?? '')
          : o.group === 'device'
            ? ref.deviceId
            : o.group === 'site'
              ? p.site
              : type;
    let r = rows.get(key);
    if (!r) {
      r = emptyRow(key);
      if (o.group !== 'district' && o.group !== 'type') r.district = p.district;
      rows.set(key, r);
    }
    return r;
  };
  const inPeriod = (t: number) => t >= o.from && t < o.to;

  for await (const a of src.alerts(o.from, o.to)) {
    const rs = [rowFor({ deviceId: a.deviceId, district: a.district }, a.kind), total];
    if (inPeriod(a.firstSeen)) {
      for (const r of rs) {
        r.alerts.raised++;
        inc(r.alerts.bySeverity, a.severity);
      }
    }
    if (a.category === 'threshold' && EXCEEDANCE_KINDS.has(a.kind)) {
      // An open alert is in exceedance until now; a resolved one until it cleared.
      const end = a.state === 'resolved' ? (a.resolvedAt ?? a.lastSeen) : Math.max(now, a.lastSeen);
      const h = overlap(a.firstSeen, end, o.from, o.to) / HOUR;
      for (const r of rs) r.exceedanceHours += h;
    }
  }
  for await (const s of src.events(o.from, o.to)) {
    if (!inPeriod(s.event.start)) continue;
    for (const r of [
      rowFor(
        { deviceId: s.event.camera.id, district: s.event.camera.district, grid: s.event.camera.gridCell },
        s.event.type,
      ),
      total,
    ]) {
      r.events.detected++;
      r.events[s.status]++;
      if (s.status === 'rejected') inc(r.events.rejectReasons, s.review?.reason ?? 'other');
    }
  }
  for await (const n of src.notices(o.from, o.to)) {
    if (!inPeriod(n.createdAt)) continue;
    const told = n.deliveries.some((d) => d.status === 'sent' && d.channel !== 'console');
    for (const r of [rowFor({ deviceId: n.cameraId, district: n.district }, n.eventType), total]) {
      if (told) r.notices.sent++;
      if (n.status === 'corrected') r.notices.correctedAfterNotice++;
    }
  }
  for await (const c of src.cases(o.from, o.to)) {
    if (!inPeriod(Date.parse(c.createdAt))) continue;
    const deviceId = c.detection.kind === 'vision' ? c.detection.cameraId : c.detection.deviceId;
    const type = c.detection.kind === 'vision' ? c.eventType : c.detection.deviceKind;
    for (const r of [rowFor({ deviceId, district: c.district, grid: c.gridCell }, type), total]) {
      r.cases.filed++;
      if (c.delivery.status === 'delivered') r.cases.delivered++;
      if (c.delivery.status === 'failed') r.cases.failed++;
    }
  }
  const out = [...rows.values()].sort((a, b) => a.key.localeCompare(b.key));
  for (const r of [...out, total]) {
    r.exceedanceHours = Math.round(r.exceedanceHours * 1000) / 1000;
    r.rates = {
      confirmed: ratio(r.events.confirmed, r.events.confirmed + r.events.rejected),
      correctedAfterNotice: ratio(r.notices.correctedAfterNotice, r.notices.sent),
      delivered: ratio(r.cases.delivered, r.cases.filed),
    };
  }
  return { group: o.group, from: o.from, to: o.to, rows: out, total };
}
