// 15-minute aggregates of the readings, kept for years after the raw readings are deleted (operations/retention/).
// Per (device, metric, bucket): count, sum, min, max and, for dB levels (metric *_db), the sum of 10^(L/10), so the
// Leq the noise rules judge (analytics/rules/window.ts) can be recombined exactly over any span of buckets:
// Leq = 10·log10(energy / n). A mean of dB values would understate it. Buckets are recomputed whole from the raw
// readings, so running the same range twice is idempotent.
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import type { AggregateRow, ReadingQuery } from '../types.js';

export const BUCKET_MS = 15 * 60_000;

/** The schema step that adds the aggregates table (append-only, READINGS_SCHEMA in store.ts). */
export const AGGREGATES_TABLE = `CREATE TABLE IF NOT EXISTS readings_15m (
  device VARCHAR NOT NULL, district VARCHAR NOT NULL, kind VARCHAR NOT NULL, metric VARCHAR NOT NULL,
  bucket BIGINT NOT NULL, n BIGINT NOT NULL, sum DOUBLE NOT NULL, min DOUBLE NOT NULL, max DOUBLE NOT NULL,
  energy DOUBLE)`;

export const floorBucket = (ts: number): number => Math.floor(ts / BUCKET_MS) * BUCKET_MS;

const int = (n: number) => BigInt(Math.trunc(n));

/** Recomputes the buckets in [from, to) (bucket-aligned) from the raw readings; returns how many it wrote. */
export async function downsample(db: DuckDBConnection, from: number, to: number): Promise<number> {
  const p = { from: int(floorBucket(from)), to: int(floorBucket(to)) };
  if (p.from >= p.to) return 0;
  await db.run('BEGIN');
  try {
    await db.run('DELETE FROM readings_15m WHERE bucket >= $from AND bucket < $to', p);
    const r = await db.run(
      `INSERT INTO readings_15m
       SELECT device, any_value(district), any_value(kind), metric, (ts // ${BUCKET_MS}) * ${BUCKET_MS} AS bucket,
              count(*), sum(value), min(value), max(value),
              CASE WHEN metric LIKE '%\\_db' ESCAPE '\\' THEN sum(pow(10, value / 10)) END
       FROM readings WHERE ts >= $from AND ts < $to
       GROUP BY device, metric, bucket`,
      p,
    );
    await db.run('COMMIT');
    return r.rowsChanged;
  } catch (e) {
    await db.run('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

/** The oldest raw reading's time, or null when there are none. */
export async function oldestReading(db: DuckDBConnection): Promise<number | null> {
  const v = (await db.runAndReadAll('SELECT min(ts) FROM readings')).getRows()[0]![0];
  return v === null || v === undefined ? null : Number(v as bigint);
}

/** Deletes raw readings before `before` (bucket-aligned by the caller); returns how many. */
export async function deleteReadingsBefore(db: DuckDBConnection, before: number): Promise<number> {
  return (await db.run('DELETE FROM readings WHERE ts < $before', { before: int(before) })).rowsChanged;
}

export async function deleteAggregatesBefore(db: DuckDBConnection, before: number): Promise<number> {
  return (await db.run('DELETE FROM readings_15m WHERE bucket < $before', { before: int(floorBucket(before)) }))
    .rowsChanged;
}

/** One device's aggregates in [from, to), oldest first, at most `limit` buckets; like ReadingStore.query. */
export async function queryAggregates(
  db: DuckDBConnection,
  q: ReadingQuery,
): Promise<{ readings: AggregateRow[]; total: number }> {
  const where = ['device = $device'];
  const params: Record<string, DuckDBValue> = { device: q.deviceId };
  if (q.metric) {
    where.push('metric = $metric');
    params.metric = q.metric;
  }
  if (q.from !== undefined) {
    where.push('bucket >= $from');
    params.from = int(floorBucket(q.from));
  }
  if (q.to !== undefined) {
    where.push('bucket < $to');
    params.to = int(q.to);
  }
  const cond = where.join(' AND ');
  const total = Number(
    (
      await db.runAndReadAll(`SELECT count(DISTINCT bucket)::BIGINT FROM readings_15m WHERE ${cond}`, params)
    ).getRows()[0]![0] as bigint,
  );
  const res = await db.runAndReadAll(
    `WITH f AS (SELECT * FROM readings_15m WHERE ${cond}),
          t AS (SELECT DISTINCT bucket FROM f ORDER BY bucket LIMIT ${Math.trunc(q.limit)})
     SELECT bucket, metric, n, sum, min, max, energy FROM f SEMI JOIN t ON f.bucket = t.bucket ORDER BY bucket, metric`,
    params,
  );
  const byBucket = new Map<number, AggregateRow>();
  for (const row of res.getRows()) {
    const ts = Number(row[0] as bigint);
    let a = byBucket.get(ts);
    if (!a) byBucket.set(ts, (a = { ts, metrics: {}, max: {}, min: {}, count: {} }));
    const m = row[1] as string;
    const n = Number(row[2] as bigint);
    a.metrics[m] = (row[3] as number) / n;
    a.min[m] = row[4] as number;
    a.max[m] = row[5] as number;
    a.count[m] = n;
    if (row[6] !== null && row[6] !== undefined) (a.leq ??= {})[m] = 10 * Math.log10((row[6] as number) / n);
  }
  return { readings: [...byBucket.values()], total };
}
