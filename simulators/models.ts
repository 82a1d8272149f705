// Virtual sensors of the five kinds. Every value is a pure function of (seed, device, timestamp), so a run is
// reproducible and a restarted simulator produces exactly the readings it would have produced. Incidents (the
// anomalies a detector should find) come from the same functions and are reported as ground truth.
import type { SensorKind } from '../contracts/index.js';

export interface Incident {
  deviceId: string;
  kind: SensorKind;
  type: string;
  /** The metric that shows the incident, for the cases no threshold rule watches (the anomaly detector's). */
  metric?: string;
  start: number;
  end: number;
  description: string;
}

export interface SensorModel {
  /** Metric values of the reading at ts. */
  metrics(ts: number): Record<string, number>;
  /** The incident active at ts, if any (the first of its kind's list when several overlap). */
  incidentAt(ts: number): Incident | null;
  /** Every incident active at ts: a slow one (a drift, a wrong calibration) can overlap a short one. */
  incidentsAt(ts: number): Incident[];
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** 32-bit FNV-1a: a stable hash of strings for seeding. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A deterministic uniform number in [0,1) for (a, b): splitmix-style mixing of two integers. */
export function rand(a: number, b: number): number {
  let x = (Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35)) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return (x >>> 0) / 4294967296;
}

/** Gaussian-ish noise from four uniforms (Irwin–Hall), mean 0, sd ~1. */
function gauss(a: number, b: number): number {
  return (rand(a, b) + rand(a + 1, b) + rand(a + 2, b) + rand(a + 3, b) - 2) * 1.732;
}

/** Local hour of day (0..24) in China Standard Time, where the simulated city is. */
function localHour(ts: number): number {
  return ((((ts + 8 * HOUR) % DAY) + DAY) % DAY) / HOUR;
}

/** Local day of the week in China Standard Time, 0 = Sunday … 6 = Saturday (the epoch was a Thursday). */
function localWeekday(ts: number): number {
  return (Math.floor((ts + 8 * HOUR) / DAY) + 4) % 7;
}

interface EpisodeSpec {
  type: string;
  /** Episodes are placed in windows of this length... */
  windowMs: number;
  /** ...one per window with this probability... */
  probability: number;
  /** ...lasting this long. */
  durationMs: number;
  /** Restrict the start to these local hours (inclusive start, exclusive end); wraps past midnight. */
  hours?: [number, number];
  /**
   * Restrict the start to one of these local weekdays (0 = Sunday), within the week that the window starts in
   * (windowMs must then be a week).
   */
  weekdays?: number[];
  /** The metric that shows it, when only the anomaly detector can see it. */
  metric?: string;
  description: string;
}

/** Finds the episode (if any) of the given spec that covers ts. */
function episodeAt(seed: number, dev: number, spec: EpisodeSpec, ts: number): { start: number; end: number } | null {
  const specHash = hash32(spec.type);
  // An episode may start in the current or the previous window and run into this one.
  const w0 = Math.floor(ts / spec.windowMs);
  for (const w of [w0, w0 - 1]) {
    const key = (seed ^ specHash ^ Math.imul(w, 2654435761)) >>> 0;
    if (rand(key, dev) >= spec.probability) continue;
    let start = w * spec.windowMs + Math.floor(rand(key + 7, dev) * (spec.windowMs - spec.durationMs));
    if (spec.weekdays) {
      // Move the start to the chosen weekday within the 7 days from the window's start.
      const want = spec.weekdays[Math.floor(rand(key + 13, dev) * spec.weekdays.length)] as number;
      const w0Start = w * spec.windowMs;
      start = w0Start + ((want - localWeekday(w0Start) + 7) % 7) * DAY;
    }
    if (spec.hours) {
      // Move the start into the allowed hours of the same day.
      const [h0, h1] = spec.hours;
      const span = ((h1 - h0 + 24) % 24) * HOUR;
      const dayStart = Math.floor((start + 8 * HOUR) / DAY) * DAY - 8 * HOUR;
      start = dayStart + h0 * HOUR + Math.floor(rand(key + 11, dev) * Math.max(0, span - spec.durationMs));
    }
    const end = start + spec.durationMs;
    if (ts >= start && ts < end) return { start, end };
  }
  return null;
}

/** An incident at a chosen time (the embedded demo shows an alert within minutes of `npm start`). */
export interface DemoIncident {
  start: number;
  durationMs: number;
}

function makeModel(
  seed: number,
  deviceId: string,
  kind: SensorKind,
  demo: DemoIncident | undefined,
  episodes: EpisodeSpec[],
  /**
   * `a` is the first active incident, with p its progress from 0 (start) to 1 (end); `on(type)` is the progress of
   * the active incident of that type, or null (incidents of different types may overlap).
   */
  values: (
    ts: number,
    n: (i: number) => number,
    a: { type: string; p: number } | null,
    on: (type: string) => number | null,
  ) => Record<string, number>,
): SensorModel {
  const dev = hash32(deviceId);
  const activeAll = (ts: number) => {
    const out: { spec: EpisodeSpec; start: number; end: number }[] = [];
    if (demo && ts >= demo.start && ts < demo.start + demo.durationMs) {
      out.push({
        spec: { ...episodes[0]!, description: `${episodes[0]!.description} (demo incident)` },
        start: demo.start,
        end: demo.start + demo.durationMs,
      });
    }
    for (const e of episodes) {
      if (out.some((o) => o.spec.type === e.type)) continue;
      const ep = episodeAt(seed, dev, e, ts);
      if (ep) out.push({ spec: e, ...ep });
    }
    return out;
  };
  const incident = (a: { spec: EpisodeSpec; start: number; end: number }): Incident => ({
    deviceId,
    kind,
    type: a.spec.type,
    ...(a.spec.metric ? { metric: a.spec.metric } : {}),
    start: a.start,
    end: a.end,
    description: a.spec.description,
  });
  return {
    metrics(ts) {
      const all = activeAll(ts);
      const t = Math.floor(ts / 1000);
      const progress = (x: { start: number; end: number }) => (ts - x.start) / (x.end - x.start);
      const first = all[0];
      const inc = first ? { type: first.spec.type, p: progress(first) } : null;
      const on = (type: string) => {
        const x = all.find((y) => y.spec.type === type);
        return x ? progress(x) : null;
      };
      return values(ts, (i) => gauss((seed ^ dev) + i * 101, t), inc, on);
    },
    incidentAt(ts) {
      const a = activeAll(ts)[0];
      return a ? incident(a) : null;
    },
    incidentsAt(ts) {
      return activeAll(ts).map(incident);
    },
  };
}

const round = (v: number, d = 1) => Math.round(v * 10 ** d) / 10 ** d;
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** Traffic intensity 0..1 over the day: morning and evening peaks, quiet nights. */
function traffic(h: number): number {
  const peak = (c: number, w: number) => Math.exp(-((h - c) ** 2) / (2 * w * w));
  // Traffic thins out from 21:00 and is at its night level by 22:00, when GB 3096 night limits start.
  const day = h >= 6 && h < 21 ? 0.45 : h >= 21 && h < 22 ? 0.45 - 0.37 * (h - 21) : 0.08;
  return clamp(day + 0.45 * peak(8, 1.2) + 0.45 * peak(18, 1.5), 0, 1);
}

export function createModel(kind: SensorKind, deviceId: string, seed: number, demo?: DemoIncident): SensorModel {
  switch (kind) {
    case 'noise':
      return makeModel(
        seed,
        deviceId,
        kind,
        demo,
        [
          {
            type: 'night_construction_noise',
            windowMs: 2 * DAY,
            probability: 0.5,
            durationMs: 45 * 60_000,
            hours: [23, 3],
            description: 'construction at night: LAeq far above the night limit',
          },
          {
            // No threshold rule watches L90: a case for the anomaly detector.
            type: 'meter_moved',
            metric: 'l90_db',
            windowMs: 3 * DAY,
            probability: 0.6,
            durationMs: 12 * HOUR,
            description:
              'meter moved next to a constant source (a ventilation fan): the background level L90 steps up 8 dB',
          },
        ],
        (ts, n, _a, on) => {
          let laeq = 42 + 26 * traffic(localHour(ts)) + 1.5 * n(0);
          if (on('night_construction_noise') !== null) laeq += 22;
          const background = on('meter_moved') !== null ? 8 : 0;
          const lmax = laeq + 7 + Math.abs(4 * n(1));
          // Percentile levels of the same interval: L10 above the mean level, L90 (the background) well below.
          return {
            laeq_db: round(laeq),
            lmax_db: round(lmax),
            l10_db: round(laeq + 2.5 + Math.abs(0.8 * n(2))),
            l50_db: round(laeq - 1.5 + 0.5 * n(3)),
            l90_db: round(laeq - 6 + background + 0.8 * n(4)),
          };
        },
      );
    case 'dust':
      return makeModel(
        seed,
        deviceId,
        kind,
        demo,
        [
          {
            type: 'dust_episode',
            windowMs: DAY,
            probability: 0.6,
            durationMs: 90 * 60_000,
            hours: [8, 17],
            description: 'earthwork without dust control: PM10 and TSP far above the limit',
          },
          {
            // No threshold rule watches the barometer: a case for the anomaly detector.
            type: 'pressure_drift',
            metric: 'pressure_kpa',
            windowMs: 3 * DAY,
            probability: 0.6,
            durationMs: 12 * HOUR,
            description: 'barometric sensor drifting: the reading creeps up 0.2 kPa an hour',
          },
          {
            // A weekly cycle broken: PM2.5 (no threshold rule) carries the weekday traffic dust; on this weekend day
            // heavy trucks bring more than a weekday's. The PM10 rule stays quiet (its 15-minute mean stays under 80).
            type: 'weekend_traffic',
            metric: 'pm25_ugm3',
            windowMs: 7 * DAY,
            probability: 0.75,
            durationMs: 12 * HOUR,
            hours: [7, 8],
            weekdays: [0, 6],
            description:
              "muck trucks on a detour past the site on a weekend day: traffic dust above a weekday's where weekends are quiet",
          },
          {
            // A step under a daily cycle that no threshold rule watches: a case for the anomaly detector.
            type: 'recalibrated',
            metric: 'rh_pct',
            windowMs: 4 * DAY,
            probability: 0.5,
            durationMs: 24 * HOUR,
            description:
              'humidity sensor recalibrated against a wrong reference: it reads 10 %RH high until the next visit',
          },
        ],
        (ts, n, _a, on) => {
          const h = localHour(ts);
          const weekend = localWeekday(ts) % 6 === 0;
          // Dust raised by road traffic: rush-hour peaks on weekdays, little at weekends (the weekly cycle).
          const road = on('weekend_traffic') !== null ? 33 : weekend ? 6 : 22;
          let pm10 = 30 + 8 * Math.sin(((h - 4) / 24) * 2 * Math.PI) + road * traffic(h) + 5 * n(0);
          if (on('dust_episode') !== null) pm10 += 480 + 40 * n(1);
          const drifted = on('pressure_drift');
          const drift = drifted !== null ? 0.2 * 12 * drifted : 0;
          const rhOffset = on('recalibrated') !== null ? 10 : 0;
          pm10 = clamp(pm10, 3, 2000);
          return {
            pm10_ugm3: round(pm10),
            pm25_ugm3: round(clamp(pm10 * 0.55 + 3 * n(2), 1, 1000)),
            tsp_ugm3: round(clamp(pm10 * 1.7 + 8 * n(3), 1, 10_000)),
            temp_c: round(14 + 7 * Math.sin(((h - 9) / 24) * 2 * Math.PI) + 0.3 * n(4)),
            rh_pct: round(clamp(60 + rhOffset - 15 * Math.sin(((h - 9) / 24) * 2 * Math.PI) + 2 * n(5), 5, 100)),
            wind_ms: round(clamp(2.2 + 0.8 * n(6), 0, 20)),
            wind_dir_deg: round((((135 + 25 * Math.sin(((h - 6) / 24) * 2 * Math.PI) + 10 * n(7)) % 360) + 360) % 360),
            pressure_kpa: round(101.3 + drift + 0.3 * Math.sin(((h - 10) / 24) * 2 * Math.PI) + 0.05 * n(8)),
          };
        },
      );
    case 'fume':
      return makeModel(
        seed,
        deviceId,
        kind,
        demo,
        [
          {
            type: 'purifier_off',
            windowMs: DAY,
            probability: 0.4,
            durationMs: 60 * 60_000,
            hours: [17, 20],
            description: 'purifier switched off while cooking: fume concentration above the limit',
          },
        ],
        (ts, n, a) => {
          const h = localHour(ts);
          const cooking = (h >= 10.5 && h < 13.5) || (h >= 16.5 && h < 21);
          const purifier = cooking && !a ? 1 : 0;
          let fume = cooking ? 0.7 + 0.15 * n(0) : 0.05 + 0.02 * Math.abs(n(0));
          if (a) fume = 3.2 + 0.4 * n(1);
          return { fume_mgm3: round(clamp(fume, 0, 50), 2), purifier_on: purifier, fan_on: cooking ? 1 : 0 };
        },
      );
    case 'drainage':
      return makeModel(
        seed,
        deviceId,
        kind,
        demo,
        [
          {
            type: 'storm_waterlogging',
            windowMs: 3 * DAY,
            probability: 0.5,
            durationMs: 3 * HOUR,
            description: 'heavy rain: water level rising to waterlogging tiers',
          },
        ],
        (ts, n, a) => {
          let rain = 0;
          let rise = 0;
          if (a) {
            // A storm: rain peaks early, the level follows with a lag and drains away at the end.
            rain = clamp(60 * Math.sin(Math.PI * Math.min(1, a.p * 1.6)) + 5 * n(0), 0, 300);
            rise = 38 * Math.sin(Math.PI * a.p) + 2 * n(1);
          }
          const level = 8 + rise + 0.6 * n(2);
          return {
            level_cm: round(clamp(level, 0, 500)),
            flow_ls: round(clamp(20 + level * 3 + 2 * n(3), 0, 5000)),
            rain_mmh: round(clamp(rain, 0, 300)),
          };
        },
      );
    case 'manhole':
      return makeModel(
        seed,
        deviceId,
        kind,
        demo,
        [
          {
            type: 'cover_tilted',
            windowMs: 4 * DAY,
            probability: 0.5,
            durationMs: 30 * 60_000,
            description: 'cover tilted or lifted: a hazard for traffic and pedestrians',
          },
        ],
        (ts, n, a) => ({
          tilt_deg: round(a ? 28 + 3 * n(0) : Math.abs(0.4 * n(0))),
          open: a ? 1 : 0,
          water_cm: round(clamp(12 + 2 * n(1), 0, 300)),
          battery_pct: round(clamp(96 - ((ts / DAY) % 365) * 0.02 + 0.2 * n(2), 0, 100)),
          rssi_dbm: Math.round(clamp(-85 + 4 * n(3), -120, -40)),
        }),
      );
  }
}
