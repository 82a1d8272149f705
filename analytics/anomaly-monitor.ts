// Anomaly alerts for metrics without a fixed threshold: one streaming detector per (device, metric), learning the
// series for a probation period first; an alert fires when the score reaches the threshold and clears after a run
// of normal scores. The learnt state can be saved to a file and restored, so that a restart (or a rules edit) does
// not throw away the weeks a detector needs to know its series.
import fs from 'node:fs';
import path from 'node:path';
import type { Signal, StoredReading } from '../contracts/index.js';
import {
  createAnomalyDetector,
  DEFAULT_OPTIONS,
  type AnomalyDetector,
  type AnomalyDetectorOverrides,
  type AnomalyExplanation,
} from './anomaly/detector.js';
import type { RuleEngine } from './rules/engine.js';
import type { RulesFile } from './rules/schema.js';

interface Series {
  detector: AnomalyDetector;
  seen: number;
  active: boolean;
  calm: number;
  lastTs: number;
  /** Time of the latest reading at the threshold (for clearAfterS). */
  lastAlarm: number;
  /** A reading at the threshold waiting for the readings after it (anomaly.confirm); not saved across a restart. */
  pending: Pending | null;
}

interface Pending {
  /**
   * The band expected at the candidate, and what its signal says (built once it is confirmed: a signal held per
   * series cost about 580 bytes a series while every series had a candidate open, in bench:rules).
   */
  low: number;
  high: number;
  ts: number;
  value: number;
  score: number;
  model: string;
  /** Readings seen from the candidate on, and how many of them lay outside the band. */
  seen: number;
  outside: number;
}

const STATE_MAGIC = 'city-anomaly-state/1';
const NONE_COVERED: ReadonlySet<string> = new Set();

/** The detector options the rules file's `anomaly.detector` asks for (none where it keeps the defaults). */
export function detectorOverrides(d: RulesFile['anomaly']['detector']): AnomalyDetectorOverrides {
  return {
    ...(d.daily ? { daily: {} } : {}),
    ...(d.hold ? { hold: {} } : {}),
    ...(d.rangeTolerance !== DEFAULT_OPTIONS.rangeTolerance ? { rangeTolerance: d.rangeTolerance } : {}),
  };
}

export class AnomalyMonitor {
  private series = new Map<string, Series>();
  private readonly covered = new Map<string, ReadonlySet<string>>();
  private readonly exclude: Set<string>;
  /** The detector options from the rules file (none when it keeps the defaults, so every series shares them). */
  private readonly options: AnomalyDetectorOverrides;

  constructor(
    private readonly cfg: RulesFile['anomaly'],
    private readonly engine: RuleEngine,
  ) {
    this.exclude = new Set(cfg.exclude);
    this.options = detectorOverrides(cfg.detector);
  }

  /** (device, metric) series watched. */
  get seriesCount(): number {
    return this.series.size;
  }

  /**
   * Takes over the learnt series of the monitor this one replaces: a rules reload keeps what was learnt, unless the
   * detector options changed (then every series learns again).
   */
  adopt(previous: AnomalyMonitor): void {
    if (JSON.stringify(previous.options) === JSON.stringify(this.options)) this.series = previous.series;
  }

  process(r: StoredReading, out: Signal[] = []): Signal[] {
    if (!this.cfg.enabled) return out;
    let covered = this.covered.get(r.deviceId);
    if (!covered) {
      covered = this.engine.coveredMetrics(r);
      // Devices that no rule covers share one empty set: a set each was about 200 bytes a device at 100,000 devices.
      this.covered.set(r.deviceId, (covered = covered.size === 0 ? NONE_COVERED : covered));
    }
    for (const metric in r.metrics) {
      if (covered.has(metric) || this.exclude.has(metric)) continue;
      const key = `${r.deviceId}|${metric}`;
      let s = this.series.get(key);
      if (!s) this.series.set(key, (s = newSeries(createAnomalyDetector(this.options))));
      if (r.ts <= s.lastTs) continue; // a repeat: the detector is causal and must see each point once
      s.lastTs = r.ts;
      const v = r.metrics[metric]!;
      const score = s.detector.update(r.ts, v);
      s.seen++;
      if (s.seen <= this.cfg.probationReadings) continue;
      if (score >= this.cfg.threshold) {
        s.calm = 0;
        s.lastAlarm = r.ts;
        if (!s.active && !s.pending) this.candidate(s, r, metric, v, score, out);
      } else if (
        s.active &&
        ++s.calm >= this.cfg.clearAfterReadings &&
        r.ts - s.lastAlarm >= this.cfg.clearAfterS * 1000
      ) {
        s.active = false;
        out.push(this.signal('clear', r, metric, v, score));
      }
      if (s.pending && s.pending.ts !== r.ts) this.confirm(s, r, metric, v, out);
    }
    return out;
  }

  /** A reading at the threshold: an alert at once, or a candidate that the next readings must confirm. */
  private candidate(s: Series, r: StoredReading, metric: string, v: number, score: number, out: Signal[]): void {
    const c = this.cfg.confirm;
    const e = s.detector.explain();
    // Without a band (a member still learning) there is nothing to hold later readings against.
    if (c.outside <= 1 || !e.expected) {
      s.active = true;
      out.push(this.signal('fire', r, metric, v, score, e));
      return;
    }
    const { low, high } = e.expected;
    s.pending = { low, high, ts: r.ts, value: v, score, model: e.model, seen: 1, outside: 1 };
  }

  /** One more reading after a candidate: raise its alert once enough lie outside its band, drop it when too few can. */
  private confirm(s: Series, r: StoredReading, metric: string, v: number, out: Signal[]): void {
    const p = s.pending as Pending;
    const c = this.cfg.confirm;
    p.seen++;
    if (v < p.low || v > p.high) p.outside++;
    if (p.outside >= c.outside) {
      s.pending = null;
      s.active = true;
      s.calm = 0;
      const e = { model: p.model, expected: { low: p.low, high: p.high } };
      out.push(this.signal('fire', { ...r, ts: p.ts }, metric, p.value, p.score, e));
    } else if (p.outside + (c.readings - p.seen) < c.outside) s.pending = null;
  }

  private signal(
    type: 'fire' | 'clear',
    r: StoredReading,
    metric: string,
    value: number,
    score: number,
    explained?: Pick<AnomalyExplanation, 'model' | 'expected'>,
  ): Signal {
    const s: Signal = {
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
      standard: 'streaming anomaly detector (scored on the Numenta Anomaly Benchmark, see analytics/nab)',
      caseWorthy: false,
    };
    if (explained) {
      // What staff see beside the value: which model found it unusual, and the band it expected.
      const band = explained.expected;
      s.expected = {
        model: explained.model,
        ...(band ? { low: round(band.low), high: round(band.high) } : {}),
      };
    }
    return s;
  }

  /**
   * Writes every series' state to `file` (atomically: a temporary file renamed over it). Binary, one record per
   * series: key, counters and the detector's numbers, about 6 KB a series.
   */
  save(file: string): number {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.tmp`;
    const fd = fs.openSync(tmp, 'w');
    try {
      const head = Buffer.from(`${STATE_MAGIC}\n`);
      fs.writeSync(fd, head);
      for (const [key, s] of this.series) {
        const k = Buffer.from(key);
        const state = s.detector.save();
        const rec = Buffer.alloc(4 + k.length + 8 * 4 + 4 + state.byteLength);
        let at = rec.writeUInt32LE(k.length, 0);
        at += k.copy(rec, at);
        at = rec.writeDoubleLE(s.seen, at);
        at = rec.writeDoubleLE(s.active ? 1 : 0, at);
        at = rec.writeDoubleLE(s.calm, at);
        at = rec.writeDoubleLE(s.lastTs, at);
        at = rec.writeUInt32LE(state.length, at);
        Buffer.from(state.buffer, state.byteOffset, state.byteLength).copy(rec, at);
        fs.writeSync(fd, rec);
      }
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    return this.series.size;
  }

  /**
   * Restores the series saved by save(). A record that does not fit today's detector (its options changed) is
   * skipped: that series starts learning again. Returns the numbers restored and skipped.
   */
  restore(file: string): { restored: number; skipped: number } {
    const buf = fs.readFileSync(file);
    const nl = buf.indexOf(10);
    if (nl < 0 || buf.subarray(0, nl).toString() !== STATE_MAGIC)
      throw new Error(`${file} is not an anomaly state file (${STATE_MAGIC})`);
    let at = nl + 1;
    let restored = 0;
    let skipped = 0;
    while (at < buf.length) {
      const kl = buf.readUInt32LE(at);
      at += 4;
      const key = buf.subarray(at, at + kl).toString();
      at += kl;
      const seen = buf.readDoubleLE(at);
      const active = buf.readDoubleLE(at + 8) === 1;
      const calm = buf.readDoubleLE(at + 16);
      const lastTs = buf.readDoubleLE(at + 24);
      const n = buf.readUInt32LE(at + 32);
      at += 36;
      const state = new Float64Array(n);
      for (let i = 0; i < n; i++) state[i] = buf.readDoubleLE(at + 8 * i);
      at += 8 * n;
      const detector = createAnomalyDetector(this.options);
      try {
        detector.restore(state);
      } catch {
        skipped++;
        continue;
      }
      this.series.set(key, { ...newSeries(detector), seen, active, calm, lastTs });
      restored++;
    }
    return { restored, skipped };
  }
}

const round = (x: number): number => Number(x.toPrecision(6));

const newSeries = (detector: AnomalyDetector): Series => ({
  detector,
  seen: 0,
  active: false,
  calm: 0,
  lastTs: -Infinity,
  lastAlarm: -Infinity,
  pending: null,
});
