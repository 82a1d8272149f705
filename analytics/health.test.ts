// Each sensor-health alert with crafted input: offline, stuck, impossible values, clock skew.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { StoredReading } from '../contracts/index.js';
import { HealthChecker } from './health.js';
import { RulesFileSchema } from './rules/schema.js';

const rules = RulesFileSchema.parse(
  JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '../config/rules.json'), 'utf8')),
);
const t0 = Date.parse('2026-06-01T00:00:00Z');
const r = (ts: number, metrics: Record<string, number>, id = 'ds-h'): StoredReading => ({
  district: 'x',
  kind: 'dust',
  deviceId: id,
  ts,
  metrics,
});
// Start-up clears (Signal.initial) are left out: they only resolve alerts left open across a restart.
const kinds = (sigs: { type: string; ruleId: string; initial?: boolean }[]) =>
  sigs.filter((s) => !s.initial).map((s) => `${s.type}:${s.ruleId}`);

describe('sensor health', () => {
  it('offline after three missed report intervals, back online with the next reading', () => {
    const h = new HealthChecker(rules.health);
    for (let i = 0; i < 10; i++) h.process(r(t0 + i * 30_000, { pm10_ugm3: 40 + i }), t0 + i * 30_000);
    const last = t0 + 9 * 30_000;
    expect(kinds(h.sweep(last + 89_000))).toEqual([]); // under 3 × 30 s
    expect(kinds(h.sweep(last + 91_000))).toEqual(['fire:health.offline']);
    expect(kinds(h.sweep(last + 120_000))).toEqual([]); // said once
    expect(kinds(h.process(r(last + 150_000, { pm10_ugm3: 41 }), last + 150_000))).toEqual(['clear:health.offline']);
  });

  it('offline at once when the device says so (MQTT last will)', () => {
    const h = new HealthChecker(rules.health);
    h.process(r(t0, { pm10_ugm3: 40 }), t0);
    expect(kinds(h.offline('ds-h', t0 + 1000))).toEqual(['fire:health.offline']);
  });

  it('a camera is offline when its status says so (its stream stalled at the edge) and back with its online status', () => {
    const h = new HealthChecker(rules.health);
    const cam = { deviceId: 'cam-7', district: 'x', kind: 'camera' };
    // Its first status clears an alert a restart may have left open (initial), then offline fires, once.
    expect(
      h.status({ ...cam, online: true, receivedAt: t0 }).map((s) => `${s.type}:${s.kind}:${s.initial ?? false}`),
    ).toEqual(['clear:camera:true']);
    const fired = h.status({ ...cam, online: false, receivedAt: t0 + 1000 });
    expect(kinds(fired)).toEqual(['fire:health.offline']);
    expect(fired[0]).toMatchObject({ deviceId: 'cam-7', kind: 'camera', severity: 'major' });
    expect(kinds(h.status({ ...cam, online: false, receivedAt: t0 + 2000 }))).toEqual([]); // said once
    // It sends no readings: its silence is no news.
    expect(kinds(h.sweep(t0 + 3_600_000))).toEqual([]);
    expect(kinds(h.status({ ...cam, online: true, receivedAt: t0 + 3_600_000 }))).toEqual(['clear:health.offline']);
    // A sensor's online status changes nothing: its readings bring it back.
    h.process(r(t0, { pm10_ugm3: 40 }), t0);
    expect(
      kinds(h.status({ deviceId: 'ds-h', district: 'x', kind: 'dust', online: false, receivedAt: t0 + 1000 })),
    ).toEqual(['fire:health.offline']);
    expect(
      kinds(h.status({ deviceId: 'ds-h', district: 'x', kind: 'dust', online: true, receivedAt: t0 + 2000 })),
    ).toEqual([]);
  });

  it('stuck: the same value 30 times in a row; exempt metrics may hold still', () => {
    const h = new HealthChecker(rules.health);
    const out = [];
    for (let i = 0; i < 29; i++) out.push(...h.process(r(t0 + i * 1000, { pm10_ugm3: 55, wind_ms: 0 }), t0 + i * 1000));
    expect(kinds(out)).toEqual([]);
    expect(out.map((x) => x.ruleId).sort()).toEqual(['health.clock', 'health.offline', 'health.range', 'health.stuck']); // start-up clears
    expect(kinds(h.process(r(t0 + 29_000, { pm10_ugm3: 55, wind_ms: 0 }), t0 + 29_000))).toEqual(['fire:health.stuck']);
    expect(kinds(h.process(r(t0 + 30_000, { pm10_ugm3: 56, wind_ms: 0 }), t0 + 30_000))).toEqual([
      'clear:health.stuck',
    ]);
  });

  it('impossible values: outside the physical range, and inRange keeps them out of the rules', () => {
    const h = new HealthChecker(rules.health);
    expect(kinds(h.process(r(t0, { pm10_ugm3: -5 }), t0))).toEqual(['fire:health.range']);
    expect(h.inRange('pm10_ugm3', -5)).toBe(false);
    expect(h.inRange('rh_pct', 100)).toBe(true);
    expect(kinds(h.process(r(t0 + 1000, { pm10_ugm3: 5 }), t0 + 1000))).toEqual(['clear:health.range']);
  });

  it('clock skew: stamped 10 minutes ahead of arrival, or 8 days behind', () => {
    const h = new HealthChecker(rules.health);
    expect(kinds(h.process(r(t0 + 600_000, { pm10_ugm3: 40 }), t0))).toEqual(['fire:health.clock']);
    expect(kinds(h.process(r(t0 + 601_000, { pm10_ugm3: 41 }), t0 + 600_500))).toEqual(['clear:health.clock']);
    const h2 = new HealthChecker(rules.health);
    expect(kinds(h2.process(r(t0, { pm10_ugm3: 40 }, 'ds-old'), t0 + 8 * 86_400_000))).toEqual(['fire:health.clock']);
    // A backlog replayed after an outage of a day is old but honest.
    const h3 = new HealthChecker(rules.health);
    expect(kinds(h3.process(r(t0, { pm10_ugm3: 40 }, 'ds-late'), t0 + 86_400_000))).toEqual([]);
  });
});
