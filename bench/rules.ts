// `npm run bench:rules`: the detectors' cost. Threshold rules over a stream (readings/s on one core), memory per
// (rule, device) series at 100,000 series, the anomaly detector's readings/s and memory per series at 100,000
// series, and the NAB run time.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Signal, StoredReading } from '../contracts/index.js';
import { createAnomalyDetector, type AnomalyDetector } from '../analytics/anomaly/detector.js';
import { AnomalyMonitor, detectorOverrides } from '../analytics/anomaly-monitor.js';
import { HealthChecker } from '../analytics/health.js';
import { RuleEngine } from '../analytics/rules/engine.js';
import { RulesFileSchema } from '../analytics/rules/schema.js';
import { makeFleet } from '../simulators/fleet.js';
import { createModel } from '../simulators/models.js';

const ROOT = import.meta.dirname.includes(`${path.sep}dist${path.sep}`)
  ? path.resolve(import.meta.dirname, '../..')
  : path.resolve(import.meta.dirname, '..');
const rules = RulesFileSchema.parse(JSON.parse(fs.readFileSync(path.join(ROOT, 'config/rules.json'), 'utf8')));
const gc = (globalThis as { gc?: () => void }).gc;

// 1. Throughput: a day of the demo fleet of 200 devices (all five kinds), pre-generated so only the engine is timed.
const fleet = makeFleet({ seed: 1, districts: Array.from({ length: 20 }, (_, i) => `d${i}`), perKind: 2 });
const start = Date.parse('2026-06-01T00:00:00+08:00');
const readings: StoredReading[] = [];
for (const d of fleet) {
  const m = createModel(d.kind, d.id, 1);
  for (let t = start; t < start + 6 * 3_600_000; t += d.driver.intervalMs)
    readings.push({ district: d.district, kind: d.kind, deviceId: d.id, ts: t, metrics: m.metrics(t) });
}
readings.sort((a, b) => a.ts - b.ts);
const engine = new RuleEngine(rules);
const health = new HealthChecker(rules.health);
const out: Signal[] = [];
let t0 = performance.now();
for (const r of readings) engine.process(r, out);
const rulesOnly = readings.length / ((performance.now() - t0) / 1000);
const engine2 = new RuleEngine(rules);
t0 = performance.now();
for (const r of readings) {
  health.process(r, r.ts, out);
  engine2.process(r, out);
}
const withHealth = readings.length / ((performance.now() - t0) / 1000);

// 2. Memory per series: 50,000 noise meters × 2 rules (15-min LAeq window, night Lmax) = 100,000 series, each fed
// 16 minutes of readings every 10 s so every window is full.
// The JS heap and the typed arrays' storage, which V8 keeps outside it (the anomaly detector's state is typed arrays:
// counting the heap alone left out about 1.9 KB a series).
const used = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};
gc?.();
const before = used();
const big = new RuleEngine(rules);
const N = 50_000;
for (let k = 0; k < 96; k++) {
  const ts = start + k * 10_000;
  for (let i = 0; i < N; i++) {
    big.process(
      { district: 'x', kind: 'noise', deviceId: `m${i}`, ts, metrics: { laeq_db: 50 + (i % 7), lmax_db: 60 } },
      out,
    );
    out.length = 0;
  }
}
gc?.();
const perSeries = (used() - before) / big.series;

// 3. The anomaly detector: readings/s on one core (1,000 series of 2,000 readings each, interleaved as devices
// report), and memory per series at 100,000 series through the AnomalyMonitor the detectors process runs (each
// series fed 30 readings: a detector's state is allocated whole at creation).
const ANOMALY_SERIES = 1_000;
const ANOMALY_STEPS = 2_000;
// With what the rules file turns on (the daily member, the hold, its range tolerance).
const shipped = detectorOverrides(rules.anomaly.detector);
const detectors = Array.from({ length: ANOMALY_SERIES }, () => createAnomalyDetector(shipped));
const wave = Float64Array.from({ length: ANOMALY_STEPS }, (_, k) => 50 + 10 * Math.sin(k / 46) + ((k * 7919) % 13) / 3);
t0 = performance.now();
let sink = 0;
for (let k = 0; k < ANOMALY_STEPS; k++) {
  const ts = start + k * 300_000;
  for (let i = 0; i < ANOMALY_SERIES; i++)
    sink += (detectors[i] as AnomalyDetector).update(ts, (wave[k] as number) + i);
}
const anomalyRate = (ANOMALY_SERIES * ANOMALY_STEPS) / ((performance.now() - t0) / 1000);
detectors.length = 0;
// Twice: with the shipped probation (no alert can be under way: the steady state of a series), and without one, where
// the sine wave makes every series hold a candidate alert waiting for its confirmation (anomaly.confirm) at once.
const ANOMALY_AT_SCALE = 100_000;
async function anomalyMemory(probationReadings: number): Promise<[number, number]> {
  // The backing stores of a previous run's typed arrays are freed after a collection, not by it: wait for them.
  gc?.();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  gc?.();
  const before = used();
  const monitor = new AnomalyMonitor({ ...rules.anomaly, probationReadings }, new RuleEngine({ ...rules, rules: [] }));
  for (let k = 0; k < 30; k++) {
    const ts = start + k * 300_000;
    for (let i = 0; i < ANOMALY_AT_SCALE; i++) {
      monitor.process(
        { district: 'x', kind: 'noise', deviceId: `a${i}`, ts, metrics: { laeq_db: (wave[k] as number) + (i % 5) } },
        out,
      );
      out.length = 0;
    }
  }
  gc?.();
  return [(used() - before) / monitor.seriesCount, monitor.seriesCount];
}
const [anomalyBytes, anomalySeries] = await anomalyMemory(rules.anomaly.probationReadings);
const [anomalyPendingBytes] = await anomalyMemory(0);
const stateBytes = createAnomalyDetector(shipped).stateBytes;

// 4. NAB run time (the CLI prints its own timing and scores).
t0 = performance.now();
const nab = execFileSync(
  process.execPath,
  ['--import', 'tsx', path.join(ROOT, 'analytics/nab/main.ts'), '--out', path.join(ROOT, '.tmp/nab')],
  { cwd: ROOT, encoding: 'utf8' },
);
const nabS = (performance.now() - t0) / 1000;

console.log(
  `\nbench:rules  ${readings.length} readings of ${fleet.length} devices, ${rules.rules.length} rules${gc ? '' : ' (run with --expose-gc for exact memory)'}`,
);
console.table({
  'threshold rules': { 'readings/s (one core)': Math.round(rulesOnly), target: '>= 200,000' },
  'rules + sensor health': { 'readings/s (one core)': Math.round(withHealth), target: '' },
});
console.log(
  `memory: ${big.series} series, ${Math.round(perSeries)} bytes per series (15-min LAeq windows full at 10 s readings)`,
);
console.log(
  `anomaly detector: ${Math.round(anomalyRate).toLocaleString('en')} readings/s (one core, ${ANOMALY_SERIES} series interleaved; target >= 200,000); ` +
    `${Math.round(anomalyBytes).toLocaleString('en')} bytes per series at ${anomalySeries.toLocaleString('en')} series through the monitor ` +
    `(state ${stateBytes} bytes; target <= 4,096), ${Math.round(anomalyPendingBytes).toLocaleString('en')} while every series ` +
    `holds a candidate alert${sink < 0 ? '' : ''}`,
);
console.log(`NAB: whole run ${nabS.toFixed(1)} s including process start (target < 20 s)\n${nab.trim()}`);
