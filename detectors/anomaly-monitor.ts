// Anomaly alerts for metrics without a fixed threshold: one streaming detector per (device, metric), learning the
// series for a probation period first; an alert fires when the score reaches the threshold and clears after a run
// of normal scores.
import type { StoredReading } from '../contracts/index.js';
import { createAnomalyDetector, type AnomalyDetector } from './anomaly/detector.js';
import type { RuleEngine, Signal } from './rules/engine.js';
import type { RulesFile } from './rules/schema.js';

interface Series {
  detector: AnomalyDetector;
  seen: number;
  active: boolean;
  calm: number;
  lastTs: number;
}

export class AnomalyMonitor {
  private readonly series = new Map<string, Series>();
  private readonly covered = new Map<string, Set<string>>();
  private readonly exclude: Set<string>;

  constructor(
    private readonly cfg: RulesFile['anomaly'],
    private readonly engine: RuleEngine,
  ) {
    this.exclude = new Set(cfg.exclude);
  }

  process(r: StoredReading, out: Signal[] = []): Signal[] {
    if (!this.cfg.enabled) return out;
    let covered = this.covered.get(r.deviceId);
    if (!covered) this.covered.set(r.deviceId, (covered = this.engine.coveredMetrics(r)));
    for (const metric in r.metrics) {
      if (covered.has(metric) || this.exclude.has(metric)) continue;
      const key = `${r.deviceId}|${metric}`;
      let s = this.series.get(key);
      if (!s) this.series.set(key, (s = { detector: createAnomalyDetector(), seen: 0, active: false, calm: 0, lastTs: -Infinity }));
      if (r.ts <= s.lastTs) continue; // a repeat: the detector is causal and must see each point once
      s.lastTs = r.ts;
      const v = r.metrics[metric]!;
      const score = s.detector.update(r.ts, v);
      s.seen++;
      if (s.seen <= this.cfg.probationReadings) continue;
      if (score >= this.cfg.threshold) {
        s.calm = 0;
        if (!s.active) {
          s.active = true;
          out.push(this.signal('fire', r, metric, v, score));
        }
      } else if (s.active && ++s.calm >= this.cfg.clearAfterReadings) {
        s.active = false;
        out.push(this.signal('clear', r, metric, v, score));
      }
    }
    return out;
  }

  private signal(type: 'fire' | 'clear', r: StoredReading, metric: string, value: number, score: number): Signal {
    return {
      type,
      ruleId: `anomaly.${metric}`,
      category: 'anomaly',
      name: { zh: `读数异常：${metric}`, en: `Unusual ${metric}` },
      deviceId: r.deviceId,
      district: r.district,
      kind: r.kind,
      metric,
      severity: 'info',
      value,
      level: Math.round(score * 1000) / 1000,
      ts: r.ts,
      standard: 'streaming anomaly detector (scored on the Numenta Anomaly Benchmark, see detectors/nab)',
      caseWorthy: false,
    };
  }
}
