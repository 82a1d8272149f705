// Sensor health: a broken sensor must not look like an exceedance, and staff must learn that it is broken. Each
// problem is its own alert kind: offline (no data for several report intervals), stuck (the same value again and
// again), impossible values (outside the metric's physical range), and clock skew (stamped in the future, or far in
// the past when it arrives).
import type { DeviceKind, Signal, SignalType, StoredReading } from '../contracts/index.js';
import type { RulesFile } from './rules/schema.js';

type Health = RulesFile['health'];

const NAMES = {
  'health.offline': { zh: '设备离线', en: 'Sensor offline' },
  'health.stuck': { zh: '传感器数值卡滞', en: 'Sensor value stuck' },
  'health.range': { zh: '传感器数值不可能', en: 'Physically impossible value' },
  'health.clock': { zh: '设备时钟偏差', en: 'Device clock skew' },
} as const;
type HealthRule = keyof typeof NAMES;

interface DeviceHealth {
  district: string;
  kind: DeviceKind;
  /** Known by its status messages only (a camera sends no readings): its silence says nothing. */
  byStatus?: boolean;
  lastTs: number;
  /** Receive time of the latest reading, by the platform's clock. */
  lastSeen: number;
  /** Learnt report interval (median-ish: an exponentially weighted mean of the gaps), ms. */
  interval: number;
  stuck: Map<string, { value: number; count: number }>;
  active: Set<HealthRule>;
  /** True until its first reading has been checked: clears sent then are the start-up kind (Signal.initial). */
  initializing: boolean;
}

export class HealthChecker {
  private readonly devices = new Map<string, DeviceHealth>();
  private readonly stuckExempt: Set<string>;

  constructor(private readonly h: Health) {
    this.stuckExempt = new Set(h.stuckExempt);
  }

  private signal(
    type: SignalType,
    rule: HealthRule,
    deviceId: string,
    d: DeviceHealth,
    ts: number,
    metric: string,
    value: number,
    level: number,
  ): Signal {
    return {
      type,
      ruleId: rule,
      category: 'health',
      name: NAMES[rule],
      deviceId,
      district: d.district,
      kind: d.kind,
      metric,
      severity: rule === 'health.offline' ? 'major' : 'warning',
      value,
      level,
      ts,
      standard: 'sensor health (platform)',
      caseWorthy: false,
    };
  }

  private toggle(
    out: Signal[],
    on: boolean,
    rule: HealthRule,
    id: string,
    d: DeviceHealth,
    ts: number,
    metric: string,
    value: number,
    level: number,
  ) {
    if (d.initializing) {
      // The first reading since start: what holds fires, what does not is cleared (alerts left open by a restart).
      if (on) d.active.add(rule);
      const s = this.signal(on ? 'fire' : 'clear', rule, id, d, ts, metric, value, level);
      out.push(on ? s : { ...s, initial: true });
      return;
    }
    if (on === d.active.has(rule)) return;
    if (on) d.active.add(rule);
    else d.active.delete(rule);
    out.push(this.signal(on ? 'fire' : 'clear', rule, id, d, ts, metric, value, level));
  }

  /** Checks one reading; `receivedAt` is when the platform got it (the bus timestamp). */
  process(r: StoredReading, receivedAt: number, out: Signal[] = []): Signal[] {
    let d = this.devices.get(r.deviceId);
    if (!d) {
      d = {
        district: r.district,
        kind: r.kind,
        lastTs: -Infinity,
        lastSeen: receivedAt,
        interval: 0,
        stuck: new Map(),
        active: new Set(),
        initializing: true,
      };
      this.devices.set(r.deviceId, d);
    }
    if (r.ts <= d.lastTs) return out; // a repeat or a late reading: nothing new about the device's health
    if (Number.isFinite(d.lastTs)) {
      const gap = r.ts - d.lastTs;
      d.interval = d.interval === 0 ? gap : 0.9 * d.interval + 0.1 * gap;
    }
    d.lastTs = r.ts;
    d.lastSeen = Math.max(d.lastSeen, receivedAt);
    // Back online at the time it was heard from (a replayed backlog carries older timestamps).
    this.toggle(out, false, 'health.offline', r.deviceId, d, receivedAt, '', 0, 0);

    // Clock skew, by the platform's clock. A backlog replayed after an outage is old but honest, hence pastS is long.
    const skew = r.ts - receivedAt;
    const skewed = skew > this.h.futureS * 1000 || skew < -this.h.pastS * 1000;
    this.toggle(
      out,
      skewed,
      'health.clock',
      r.deviceId,
      d,
      r.ts,
      'ts',
      Math.round(skew / 1000),
      skewed && skew > 0 ? this.h.futureS : -this.h.pastS,
    );

    let badMetric = '';
    let badValue = 0;
    let stuckMetric = '';
    for (const m in r.metrics) {
      const v = r.metrics[m]!;
      const range = this.h.ranges[m];
      if (range && (v < range[0] || v > range[1]) && !badMetric) {
        badMetric = m;
        badValue = v;
      }
      if (this.stuckExempt.has(m)) continue;
      const s = d.stuck.get(m);
      if (s && s.value === v) s.count++;
      else d.stuck.set(m, { value: v, count: 1 });
      if (d.stuck.get(m)!.count >= this.h.stuckSamples && !stuckMetric) stuckMetric = m;
    }
    this.toggle(out, badMetric !== '', 'health.range', r.deviceId, d, r.ts, badMetric, badValue, 0);
    const anyStuck = stuckMetric !== '';
    this.toggle(
      out,
      anyStuck,
      'health.stuck',
      r.deviceId,
      d,
      r.ts,
      stuckMetric,
      anyStuck ? d.stuck.get(stuckMetric)!.value : 0,
      this.h.stuckSamples,
    );
    d.initializing = false;
    return out;
  }

  /** Readings outside their physical range must not raise exceedance alerts: rules skip them. */
  inRange(metric: string, v: number): boolean {
    const range = this.h.ranges[metric];
    return !range || (v >= range[0] && v <= range[1]);
  }

  /** Run every few seconds: devices that stopped reporting go offline. */
  sweep(now: number, out: Signal[] = []): Signal[] {
    for (const [id, d] of this.devices) {
      if (d.byStatus) continue;
      // The device's own interval when known (N missed reports), else the fixed limit.
      const limit =
        d.interval > 0 ? Math.max(d.interval * this.h.offlineAfterIntervals, 1000) : this.h.offlineAfterS * 1000;
      const silent = now - d.lastSeen;
      if (silent > limit)
        this.toggle(out, true, 'health.offline', id, d, now, '', Math.round(silent / 1000), Math.round(limit / 1000));
    }
    return out;
  }

  /** The device said it went away (MQTT last will): offline at once. */
  offline(deviceId: string, now: number, out: Signal[] = []): Signal[] {
    const d = this.devices.get(deviceId);
    if (d) this.toggle(out, true, 'health.offline', deviceId, d, now, '', 0, 0);
    return out;
  }

  /**
   * A device's status message. A sensor's offline status (its last will) takes it offline at once, and its readings
   * bring it back. A camera sends no readings: its status is all there is (the edge reports it offline when no frame
   * came for stallS seconds, edge/drivers/camera), so it raises and clears the camera's offline alert both ways.
   */
  status(
    s: { deviceId: string; district: string; kind: string; online: boolean; receivedAt: number },
    out: Signal[] = [],
  ): Signal[] {
    let d = this.devices.get(s.deviceId);
    if (!d && s.kind === 'camera') {
      // initializing: its first status also clears an alert left open by a restart.
      d = {
        district: s.district,
        kind: 'camera',
        byStatus: true,
        lastTs: -Infinity,
        lastSeen: s.receivedAt,
        interval: 0,
        stuck: new Map(),
        active: new Set(),
        initializing: true,
      };
      this.devices.set(s.deviceId, d);
    }
    if (!d) return out;
    if (!s.online) this.toggle(out, true, 'health.offline', s.deviceId, d, s.receivedAt, '', 0, 0);
    else if (d.byStatus) this.toggle(out, false, 'health.offline', s.deviceId, d, s.receivedAt, '', 0, 0);
    d.initializing = false;
    return out;
  }
}
