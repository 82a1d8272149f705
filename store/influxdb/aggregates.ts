// The 15-minute aggregates on InfluxDB: the same numbers as the DuckDB store's (store/duckdb/aggregates.ts: count,
// sum, min, max and, for dB levels, the energy for Leq), in the readings bucket as measurement readings_15m; the
// retention job deletes raw points itself after rawDays (the bucket's own retention is a ceiling above both, see
// scripts/services.d/influxdb.sh). One point per device and bucket:
//   readings_15m,device=<id>,district=<d>,kind=<k> <metric>__n=<n>i,<metric>__sum=..,__min=..,__max=..[,__energy=..] <bucket ms>
// Computed here from the raw points read with InfluxQL (which cannot sum 10^(L/10) itself); a bucket written again
// overwrites its fields, so recomputing a range is idempotent.
import { KINDS, METRICS, type SensorKind } from '../../contracts/index.js';
import { floorBucket } from '../duckdb/aggregates.js';
import type { AggregateRow, ReadingAggregates, ReadingQuery } from '../types.js';
import { ident, influxQL, ms, str, sumColumns, type InfluxQLTarget } from './influxql.js';
import { COUNT_READINGS, isNonMetric, LEGACY_READING_FIELD, SEQ_FIELD } from './lines.js';

const MEASUREMENT = 'readings_15m';
const PARTS = ['n', 'sum', 'min', 'max', 'energy'] as const;
/** Raw points are read six hours at a time: bounded memory whatever the range. */
const SLICE_MS = 6 * 60 * 60_000;

export interface InfluxAggregatesOptions {
  url: string;
  token: string;
  org: string;
  bucket: string;
  ql: InfluxQLTarget;
}

interface Acc {
  device: string;
  district: string;
  kind: SensorKind;
  bucket: number;
  m: Map<string, { n: number; sum: number; min: number; max: number; energy: number }>;
}

const esc = (s: string) => s.replace(/[,= \\]/g, (c) => `\\${c}`);
const isDb = (metric: string) => metric.endsWith('_db');

export class InfluxAggregates implements ReadingAggregates {
  private readonly agg: InfluxQLTarget;

  constructor(private readonly o: InfluxAggregatesOptions) {
    this.agg = o.ql;
  }

  async downsample(from: number, to: number): Promise<number> {
    const start = floorBucket(from);
    const end = floorBucket(to);
    if (start >= end) return 0;
    // Only the slices that hold points: a first run over a bucket with years of history finds most of them empty.
    const [counts = []] = await influxQL(
      this.o.ql,
      `SELECT ${COUNT_READINGS} FROM ${KINDS.map(ident).join(',')} WHERE time >= ${ms(start)} AND time < ${ms(end)} GROUP BY time(${SLICE_MS}ms) fill(none)`,
    );
    // Window starts (epoch-aligned 6 h, so bucket-aligned too), once each: several kinds answer the same window.
    const windows = [...new Set(counts.flatMap((c) => c.values.map((r) => r[0] as number)))].sort((a, b) => a - b);
    let written = 0;
    for (const w of windows) written += await this.slice(Math.max(start, w), Math.min(w + SLICE_MS, end));
    return written;
  }

  private async slice(from: number, to: number): Promise<number> {
    const accs = new Map<string, Acc>();
    for (const kind of KINDS) {
      const metrics = Object.keys(METRICS[kind]);
      const [series = []] = await influxQL(
        this.o.ql,
        `SELECT ${metrics.map(ident).join(', ')} FROM ${ident(kind)} WHERE time >= ${ms(from)} AND time < ${ms(to)} GROUP BY "device", "district"`,
      );
      for (const s of series) {
        const device = s.tags?.device ?? '';
        const district = s.tags?.district ?? '';
        for (const row of s.values) {
          const bucket = floorBucket(row[0] as number);
          const key = `${device}\u0000${bucket}`;
          let a = accs.get(key);
          if (!a) accs.set(key, (a = { device, district, kind, bucket, m: new Map() }));
          s.columns.forEach((c, i) => {
            const v = row[i];
            if (i === 0 || typeof v !== 'number') return;
            let x = a.m.get(c);
            if (!x) a.m.set(c, (x = { n: 0, sum: 0, min: Infinity, max: -Infinity, energy: 0 }));
            x.n++;
            x.sum += v;
            if (v < x.min) x.min = v;
            if (v > x.max) x.max = v;
            if (isDb(c)) x.energy += 10 ** (v / 10);
          });
        }
      }
    }
    if (accs.size === 0) return 0;
    const lines: string[] = [];
    let n = 0;
    for (const a of accs.values()) {
      const fields: string[] = [];
      for (const [metric, x] of a.m) {
        n++;
        fields.push(
          `${esc(metric)}__n=${x.n}i`,
          `${esc(metric)}__sum=${x.sum}`,
          `${esc(metric)}__min=${x.min}`,
          `${esc(metric)}__max=${x.max}`,
        );
        if (isDb(metric)) fields.push(`${esc(metric)}__energy=${x.energy}`);
      }
      lines.push(
        `${MEASUREMENT},device=${esc(a.device)},district=${esc(a.district)},kind=${a.kind} ${fields.join(',')} ${a.bucket}`,
      );
    }
    await this.post(
      '/api/v2/write',
      { org: this.o.org, bucket: this.o.bucket, precision: 'ms' },
      lines.join('\n'),
      'text/plain; charset=utf-8',
    );
    return n;
  }

  async oldestReading(): Promise<number | null> {
    // Two statements: two selectors in one would answer time 0. `reading` is on points written before seq was on every
    // line (docs/influxdb.md), which are the oldest.
    const from = KINDS.map(ident).join(',');
    const results = await influxQL(
      this.o.ql,
      `SELECT first(${ident(SEQ_FIELD)}) FROM ${from}; SELECT first(${ident(LEGACY_READING_FIELD)}) FROM ${from}`,
    );
    const ts = results.flatMap((series) => series.flatMap((s) => s.values.map((r) => r[0] as number)));
    return ts.length ? Math.min(...ts) : null;
  }

  /** Deletes raw points before `before`, one delete per sensor kind (the delete API's predicate has no OR). */
  async pruneReadings(before: number): Promise<number> {
    const [counts = []] = await influxQL(
      this.o.ql,
      `SELECT count(*) FROM ${KINDS.map(ident).join(',')} WHERE time < ${ms(before)}`,
    );
    // The metrics are the points; seq, reading (on points written before seq counted them) and the flags are not.
    const deleted = sumColumns(counts, (c) => !isNonMetric(c.replace(/^count_/, '')));
    if (deleted === 0) return 0;
    for (const kind of KINDS) {
      await this.post(
        '/api/v2/delete',
        { org: this.o.org, bucket: this.o.bucket },
        JSON.stringify({
          start: '1970-01-01T00:00:00Z',
          stop: new Date(before - 1).toISOString(),
          predicate: `_measurement="${kind}"`,
        }),
        'application/json',
      );
    }
    return deleted;
  }

  async pruneAggregates(before: number): Promise<number> {
    const end = floorBucket(before);
    const [counts = []] = await influxQL(this.agg, `SELECT count(*) FROM ${MEASUREMENT} WHERE time < ${ms(end)}`);
    const deleted = sumColumns(counts, (c) => c.endsWith('__n'));
    if (deleted === 0) return 0;
    await this.post(
      '/api/v2/delete',
      { org: this.o.org, bucket: this.o.bucket },
      JSON.stringify({
        start: '1970-01-01T00:00:00Z',
        stop: new Date(end - 1).toISOString(),
        predicate: `_measurement="${MEASUREMENT}"`,
      }),
      'application/json',
    );
    return deleted;
  }

  async queryAggregates(q: ReadingQuery): Promise<{ readings: AggregateRow[]; total: number }> {
    const where = [`"device" = ${str(q.deviceId)}`];
    if (q.from !== undefined) where.push(`time >= ${ms(floorBucket(q.from))}`);
    if (q.to !== undefined) where.push(`time < ${ms(q.to)}`);
    const cond = where.join(' AND ');
    const select = q.metric !== undefined ? PARTS.map((p) => ident(`${q.metric}__${p}`)).join(', ') : '*';
    const counted = q.metric !== undefined ? `count(${ident(`${q.metric}__n`)})` : 'count(*)';
    const [counts = [], rows = []] = await influxQL(
      this.agg,
      `SELECT ${counted} FROM ${MEASUREMENT} WHERE ${cond}; SELECT ${select} FROM ${MEASUREMENT} WHERE ${cond} ORDER BY time ASC LIMIT ${Math.max(1, Math.trunc(q.limit))}`,
    );
    // A bucket is one point: its count is the most any __n field was counted (the column is "count" for one metric).
    let total = 0;
    for (const s of counts) {
      for (const r of s.values) {
        s.columns.forEach((c, i) => {
          if (i > 0 && (c === 'count' || c.endsWith('__n')) && typeof r[i] === 'number')
            total = Math.max(total, r[i] as number);
        });
      }
    }
    const readings: AggregateRow[] = [];
    for (const s of rows) {
      for (const row of s.values) {
        const a: AggregateRow = { ts: row[0] as number, metrics: {}, max: {}, min: {}, count: {} };
        const energy: Record<string, number> = {};
        const sums: Record<string, number> = {};
        s.columns.forEach((c, i) => {
          const m = /^(.+)__(n|sum|min|max|energy)$/.exec(c);
          const v = row[i];
          if (!m || typeof v !== 'number') return;
          const [, metric, part] = m as unknown as [string, string, (typeof PARTS)[number]];
          if (part === 'n') a.count[metric] = v;
          else if (part === 'sum') sums[metric] = v;
          else if (part === 'energy') energy[metric] = v;
          else a[part][metric] = v;
        });
        for (const [metric, n] of Object.entries(a.count)) {
          a.metrics[metric] = sums[metric]! / n;
          if (energy[metric] !== undefined) (a.leq ??= {})[metric] = 10 * Math.log10(energy[metric] / n);
        }
        if (Object.keys(a.count).length > 0) readings.push(a);
      }
    }
    return { readings, total };
  }

  private async post(path: string, params: Record<string, string>, body: string, contentType: string): Promise<void> {
    const url = new URL(path, this.o.url);
    url.search = new URLSearchParams(params).toString();
    const res = await fetch(url, {
      method: 'POST',
      headers: { Authorization: `Token ${this.o.token}`, 'Content-Type': contentType },
      body,
      signal: AbortSignal.timeout(this.o.ql.timeoutMs),
    });
    if (!res.ok)
      throw new Error(
        `InfluxDB ${path} on bucket ${this.o.bucket} failed: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`,
      );
  }
}
