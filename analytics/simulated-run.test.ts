// The simulator's labelled run through the detectors and the alert manager: two weeks of the demo fleet in virtual
// time (a weekly cycle can only be broken once a week has been seen). Every injected incident of the threshold rules
// must be alerted (recall ≥ 95 %), with at most one false alert per device-day; the anomaly detector's own labelled
// cases are reported per case.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AlertManager } from '../alerts/manager.js';
import { DuckDbAlertStore } from '../alerts/store.js';
import type { Signal, StoredReading } from '../contracts/index.js';
import { makeFleet } from '../simulators/fleet.js';
import { createModel, type Incident } from '../simulators/models.js';
import { AnomalyMonitor } from './anomaly-monitor.js';
import { HealthChecker } from './health.js';
import { RuleEngine } from './rules/engine.js';
import { RulesFileSchema } from './rules/schema.js';

const rules = RulesFileSchema.parse(
  JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '../config/rules.json'), 'utf8')),
);
const DAY = 86_400_000;
/** The cases only the anomaly detector can see (no threshold rule watches their metric), each labelled with its metric. */
const ANOMALY_CASES = ['meter_moved', 'recalibrated', 'pressure_drift', 'weekend_traffic'];

describe('the simulator’s labelled run', () => {
  it('alerts ≥ 95 % of injected incidents with ≤ 1 false alert per device-day', async () => {
    const days = 14;
    const start = Date.parse('2026-06-01T00:00:00+08:00');
    const fleet = makeFleet({ seed: Number(process.env.SIM_SEED ?? 42), districts: ['xinhua', 'jinghai'], perKind: 2 });
    const engine = new RuleEngine(rules);
    const health = new HealthChecker(rules.health);
    const anomaly = new AnomalyMonitor(rules.anomaly, engine);
    const store = await DuckDbAlertStore.open(':memory:');
    const manager = new AlertManager(store);

    // Readings of all devices in time order, as the bus would deliver them.
    const streams = fleet.map((d) => ({
      d,
      model: createModel(d.kind, d.id, d.driver.seed),
      step: d.driver.intervalMs,
      next: start,
    }));
    const incidents = new Map<string, Incident>();
    const end = start + days * DAY;
    const signals: Signal[] = [];
    for (let t = start; t < end; t += 10_000) {
      for (const s of streams) {
        while (s.next <= t) {
          const r: StoredReading = {
            district: s.d.district,
            kind: s.d.kind,
            deviceId: s.d.id,
            ts: s.next,
            metrics: s.model.metrics(s.next),
          };
          for (const inc of s.model.incidentsAt(s.next)) incidents.set(`${inc.deviceId}@${inc.type}@${inc.start}`, inc);
          health.process(r, r.ts, signals);
          engine.process(r, signals);
          anomaly.process(r, signals);
          s.next += s.step;
        }
      }
      for (const sig of signals.splice(0)) await manager.handle(sig);
    }
    const { items: alerts } = await manager.list({ limit: 100_000 });

    // An incident counts as alerted if an alert of its device is open during it, having fired no later than 30 min
    // after its end (windowed rules need a few minutes to see it). Two incidents of one device can overlap in the
    // simulator; staff then see one open alert covering both.
    const grace = 30 * 60_000;
    // A case labelled with its metric counts only when the alert is on that metric (a drifting barometer is not found
    // by an alert on the same monitor's humidity).
    const hit = [...incidents.values()].filter((i) =>
      alerts.some(
        (a) =>
          a.deviceId === i.deviceId &&
          (!i.metric || a.metric === i.metric) &&
          a.firstSeen <= i.end + grace &&
          (a.resolvedAt ?? Infinity) >= i.start,
      ),
    );
    const falseAlerts = alerts.filter(
      (a) =>
        ![...incidents.values()].some(
          (i) => i.deviceId === a.deviceId && a.firstSeen >= i.start && a.firstSeen <= i.end + grace,
        ),
    );
    // Recall of the incidents the threshold rules are there for; the anomaly detector's own cases are counted below.
    const ruled = [...incidents.values()].filter((i) => !ANOMALY_CASES.includes(i.type));
    const recall = ruled.filter((i) => hit.includes(i)).length / ruled.length;
    const perDeviceDay = falseAlerts.length / (fleet.length * days);
    const byType = (xs: { ruleId: string }[]) =>
      Object.fromEntries(
        [...new Set(xs.map((x) => x.ruleId))].map((id) => [id, xs.filter((x) => x.ruleId === id).length]),
      );
    console.log(
      `simulated run: ${fleet.length} devices × ${days} days, ${ruled.length} rule incidents, recall ${(recall * 100).toFixed(1)} %, ` +
        `${falseAlerts.length} false alerts (${perDeviceDay.toFixed(3)} per device-day)`,
      byType(falseAlerts),
    );
    const missed = [...incidents.values()].filter((i) => !hit.includes(i));
    if (missed.length)
      console.log(
        'missed',
        missed.map(
          (i) => `${i.deviceId} ${i.type} ${new Date(i.start).toISOString()}..${new Date(i.end).toISOString()}`,
        ),
      );
    // Those that start after the detector's probation count; a weekly cycle can be broken only once the detector has
    // seen a week (weekend_traffic from day 8 on). The daily cycles of every series are there throughout.
    const probationEnd = (kind: string) =>
      start + rules.anomaly.probationReadings * (streams.find((s) => s.d.kind === kind)?.step ?? 0);
    const knowable = (i: Incident) =>
      i.start > probationEnd(i.kind) && (i.type !== 'weekend_traffic' || i.start >= start + 7 * DAY);
    const anomalyCases = [...incidents.values()].filter((i) => ANOMALY_CASES.includes(i.type) && knowable(i));
    const anomalyHit = anomalyCases.filter((i) => hit.includes(i));
    const anomalyAlerts = alerts.filter((a) => a.category === 'anomaly');
    const anomalyFalse = anomalyAlerts.filter((a) => falseAlerts.includes(a));
    const perCase = Object.fromEntries(
      ANOMALY_CASES.map((t) => [
        t,
        `${anomalyHit.filter((i) => i.type === t).length}/${anomalyCases.filter((i) => i.type === t).length}`,
      ]),
    );
    console.log(
      `anomaly cases: ${anomalyHit.length}/${anomalyCases.length} alerted ${JSON.stringify(perCase)}, ${anomalyAlerts.length} anomaly alerts of which ` +
        `${anomalyFalse.length} false (${(anomalyFalse.length / (fleet.length * days)).toFixed(3)} per device-day)`,
    );
    for (const t of ANOMALY_CASES) expect(anomalyCases.filter((i) => i.type === t).length, t).toBeGreaterThanOrEqual(2);
    // Seed 42 with the shipped settings (the daily member and the hold on, confirm 10 of 30, cool-down 3600 s): 30 of
    // 35, 0.018 anomaly false alerts per device-day. Floors against regressions (analytics/nab/README.md has every seed).
    if (process.env.SIM_SEED === undefined) {
      expect(anomalyHit.length / anomalyCases.length).toBeGreaterThanOrEqual(0.8);
      expect(anomalyFalse.length / (fleet.length * days)).toBeLessThanOrEqual(0.08);
    }
    expect(incidents.size).toBeGreaterThan(20);
    expect(recall).toBeGreaterThanOrEqual(0.95);
    expect(perDeviceDay).toBeLessThanOrEqual(1);
    await store.close();
  }, 120_000);
});
