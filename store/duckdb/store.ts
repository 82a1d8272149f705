// The embedded store: one DuckDB file under the data dir holds readings and dead letters.
//
// Readings are kept in long form, one row per (device, metric, ts), because that is what every query asks for.
// Idempotency does not use a primary key: DuckDB keeps ART indexes in memory, which at tens of millions of points
// would dominate RSS. A reading newer than every point stored for its device is appended to the table directly; the
// rest of a batch (repeats, late data) is appended to a staging table and moved over with an anti-join limited to its
// time range, which zone maps turn into a scan of the few newest row groups.
import { DuckDBInstance, type DuckDBAppender, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import type { DeadLetter, StoredReading } from '../../contracts/index.js';
import type {
  AggregateRow,
  DeadLetterRetention,
  ReadingAggregates,
  ReadingQuery,
  ReadingRow,
  Store,
} from '../types.js';
import * as agg from './aggregates.js';
import { ReadingChunks } from './chunk.js';
import { ensureLabels, labelColumns, type LabelledColumn } from './labels.js';
import { openDuckDb, type StoreSchema } from './schema.js';
import { holdFile, releaseFile } from './snapshot.js';

export interface DuckDbStoreOptions {
  /** Database file; ':memory:' for tests that need no file. */
  file: string;
  /**
   * DuckDB memory_limit, default '64MB': ingest's batches need little buffer, and bench:ingest measured peak RSS
   * 280 MB at 64 MB against 320–350 MB at 128–256 MB, at the same throughput.
   */
  memoryLimit?: string;
  /**
   * DuckDB worker threads, default 1: on a small machine the store shares the cores with the broker and ingest,
   * and one thread measured faster end to end (bench:ingest) than one per core.
   */
  threads?: number;
}

/** The readings file's schema versions (schema.ts): append a step, never edit one. */
export const READINGS_SCHEMA: StoreSchema = {
  what: 'readings store',
  migrations: [
    [
      `CREATE TABLE IF NOT EXISTS readings (
        device VARCHAR NOT NULL, district VARCHAR NOT NULL, kind VARCHAR NOT NULL, metric VARCHAR NOT NULL,
        ts BIGINT NOT NULL, seq BIGINT, value DOUBLE NOT NULL, flag VARCHAR)`,
      // Databases made before data flags existed get the column (NULL = normal).
      `ALTER TABLE readings ADD COLUMN IF NOT EXISTS flag VARCHAR`,
      `CREATE TABLE IF NOT EXISTS dead_letters (
        topic VARCHAR NOT NULL, reason VARCHAR NOT NULL, received_at BIGINT NOT NULL, payload BLOB NOT NULL)`,
      // The size as received when payload keeps only its first bytes (NULL: payload is whole).
      `ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS payload_bytes BIGINT`,
    ],
    // 2: the 15-minute aggregates the retention job keeps after raw readings are deleted (aggregates.ts).
    [agg.AGGREGATES_TABLE],
    // 3: kind and metric become ENUMs, one byte a row instead of a string (labels.ts, chunk.ts).
    labelColumns,
  ],
};

export class DuckDbStore implements Store, ReadingAggregates {
  readonly name = 'duckdb';
  private writeChain: Promise<void> = Promise.resolve();

  private closed = false;
  /** Newest ts stored per device (null: not read yet, or unknown after a failed append). */
  private newest: Map<string, number> | null = null;

  private constructor(
    private readonly file: string,
    private readonly instance: DuckDBInstance,
    private readonly writer: DuckDBConnection,
    private readonly reader: DuckDBConnection,
    private chunks: ReadingChunks,
  ) {}

  static async open(opts: DuckDbStoreOptions): Promise<DuckDbStore> {
    const config: Record<string, string> = {
      memory_limit: opts.memoryLimit ?? '64MB',
      threads: String(opts.threads ?? 1),
    };
    const { instance, db: writer } = await openDuckDb(opts.file, READINGS_SCHEMA, config);
    holdFile(opts.file, instance);
    const labels = await ensureLabels(writer);
    await writer.run('CREATE TEMP TABLE staging AS SELECT * FROM readings LIMIT 0');
    const reader = await instance.connect();
    return new DuckDbStore(opts.file, instance, writer, reader, new ReadingChunks(labels));
  }

  write(readings: readonly StoredReading[]): Promise<void> {
    // One write at a time on the writer connection: the staging table is shared state.
    const next = this.writeChain.then(() => this.writeNow(readings));
    this.writeChain = next.catch(() => undefined);
    return next;
  }

  private async writeNow(readings: readonly StoredReading[]): Promise<void> {
    if (readings.length === 0) return;
    // A reading newer than everything stored for its device cannot repeat a stored point: it is appended to the
    // table as it is. Only the others (a redelivery, a replay, late data, a second reading at the same ts) take the
    // anti-join through the staging table, which cost about two thirds of the store's time when every reading did.
    const newest = (this.newest ??= await this.loadNewest());
    const batchNewest = new Map<string, number>();
    const fresh: StoredReading[] = [];
    const others: StoredReading[] = [];
    const { kindCodes, metricCodes } = this.chunks;
    let unlabelled: Record<LabelledColumn, Set<string>> | undefined;
    for (const r of readings) {
      if (!kindCodes.has(r.kind)) (unlabelled ??= { kind: new Set(), metric: new Set() }).kind.add(r.kind);
      for (const m in r.metrics)
        if (!metricCodes.has(m)) (unlabelled ??= { kind: new Set(), metric: new Set() }).metric.add(m);
      const before = batchNewest.get(r.deviceId) ?? newest.get(r.deviceId);
      if (before === undefined || r.ts > before) {
        fresh.push(r);
        batchNewest.set(r.deviceId, r.ts);
      } else {
        others.push(r);
      }
    }
    if (unlabelled) await this.widenLabels(unlabelled);
    if (fresh.length > 0) {
      try {
        await this.appendCommitted(fresh);
      } catch (e) {
        // Part of the batch may be stored: learn what is, so that the retry does not append it twice.
        this.newest = null;
        throw e;
      }
      for (const [device, ts] of batchNewest) newest.set(device, ts);
    }
    if (others.length > 0) await this.writeDeduplicated(others);
  }

  /**
   * Appends to the readings table in a transaction of its own. The commit (the WAL, its fsync, a checkpoint now and
   * then: four fifths of an append, measured) then runs in an async call off the event loop, where the appender's
   * flushSync ran it on it, and ingest parses the next batch meanwhile.
   */
  private async appendCommitted(readings: readonly StoredReading[]): Promise<void> {
    const db = this.writer;
    await db.run('BEGIN');
    try {
      this.append(await db.createAppender('readings'), readings);
    } catch (e) {
      // What reached the table before the failure is kept, as an append in autocommit keeps it.
      await db.run('COMMIT').catch(() => db.run('ROLLBACK').catch(() => undefined));
      throw e;
    }
    await db.run('COMMIT').catch(async (e: unknown) => {
      await db.run('ROLLBACK').catch(() => undefined);
      throw e;
    });
  }

  /** Makes the ENUM columns hold names a write brings (labels.ts); the chunk and the staging table follow. */
  private async widenLabels(names: Record<LabelledColumn, Set<string>>): Promise<void> {
    this.chunks = new ReadingChunks(await ensureLabels(this.writer, names));
    await this.writer.run('CREATE OR REPLACE TEMP TABLE staging AS SELECT * FROM readings LIMIT 0');
  }

  /** Newest ts stored per device, read once per process (the retention job only ever deletes older points). */
  private async loadNewest(): Promise<Map<string, number>> {
    const rows = (await this.writer.runAndReadAll('SELECT device, max(ts) FROM readings GROUP BY device')).getRows();
    return new Map(rows.map(([device, ts]) => [String(device), Number(ts)]));
  }

  /** Appends the readings' points through `appender`, flushes and closes it; returns their ts range. */
  private append(appender: DuckDBAppender, readings: readonly StoredReading[]): { lo: number; hi: number } {
    try {
      const range = this.chunks.append(appender, readings);
      appender.flushSync();
      return range;
    } finally {
      appender.closeSync();
    }
  }

  /** Stores the points that are not stored yet: staged, then moved over with an anti-join on (device, metric, ts). */
  private async writeDeduplicated(readings: readonly StoredReading[]): Promise<void> {
    const { lo, hi } = this.append(await this.writer.createAppender('staging', null, 'temp'), readings);
    // lo/hi are integers we computed, safe to inline; they let DuckDB prune row groups by their min/max.
    await this.writer
      .run(
        `BEGIN;
         INSERT INTO readings
           SELECT s.* FROM (SELECT DISTINCT ON (device, metric, ts) * FROM staging) s
           ANTI JOIN (SELECT device, metric, ts FROM readings WHERE ts BETWEEN ${lo} AND ${hi}) r
           USING (device, metric, ts);
         COMMIT;
         -- Recreated rather than emptied: rows deleted from a temp table keep their memory.
         DROP TABLE staging;
         CREATE TEMP TABLE staging AS SELECT * FROM readings LIMIT 0;`,
      )
      .catch(async (e) => {
        await this.writer
          .run('ROLLBACK; CREATE OR REPLACE TEMP TABLE staging AS SELECT * FROM readings LIMIT 0;')
          .catch(() => undefined);
        throw e;
      });
  }

  async query(q: ReadingQuery): Promise<{ readings: ReadingRow[]; total: number }> {
    const where = ['device = $device'];
    const params: Record<string, DuckDBValue> = { device: q.deviceId };
    if (q.metric) {
      where.push('metric = $metric');
      params.metric = q.metric;
    }
    if (q.from !== undefined) {
      where.push('ts >= $from');
      params.from = BigInt(q.from);
    }
    if (q.to !== undefined) {
      where.push('ts < $to');
      params.to = BigInt(q.to);
    }
    const cond = where.join(' AND ');
    const totalRes = await this.reader.runAndReadAll(
      `SELECT count(DISTINCT ts)::BIGINT AS n FROM readings WHERE ${cond}`,
      params,
    );
    const total = Number(totalRes.getRowObjects()[0]!.n);
    const rowsRes = await this.reader.runAndReadAll(
      `WITH f AS (SELECT ts, metric, value, flag FROM readings WHERE ${cond}),
            t AS (SELECT DISTINCT ts FROM f ORDER BY ts LIMIT ${Math.trunc(q.limit)})
       SELECT f.ts, f.metric, f.value, f.flag FROM f SEMI JOIN t ON f.ts = t.ts ORDER BY f.ts, f.metric`,
      params,
    );
    const byTs = new Map<number, ReadingRow>();
    for (const row of rowsRes.getRows()) {
      const t = Number(row[0] as bigint);
      let r = byTs.get(t);
      if (!r) byTs.set(t, (r = { ts: t, metrics: {} }));
      r.metrics[row[1] as string] = row[2] as number;
      if (row[3] !== null) (r.flags ??= {})[row[1] as string] = row[3] as string;
    }
    return { readings: [...byTs.values()], total };
  }

  async countPoints(deviceId?: string): Promise<number> {
    const res = deviceId
      ? await this.reader.runAndReadAll('SELECT count(*)::BIGINT FROM readings WHERE device = $d', { d: deviceId })
      : await this.reader.runAndReadAll('SELECT count(*)::BIGINT FROM readings');
    return Number(res.getRows()[0]![0] as bigint);
  }

  add(items: readonly DeadLetter[]): Promise<void> {
    const next = this.writeChain.then(async () => {
      if (items.length === 0) return;
      const appender = await this.writer.createAppender('dead_letters');
      try {
        for (const d of items) {
          appender.appendVarchar(d.topic);
          appender.appendVarchar(d.reason);
          appender.appendBigInt(BigInt(d.receivedAt));
          appender.appendBlob(d.payload);
          if (d.payloadBytes !== undefined && d.payloadBytes > d.payload.length)
            appender.appendBigInt(BigInt(d.payloadBytes));
          else appender.appendNull();
          appender.endRow();
        }
        appender.flushSync();
      } finally {
        appender.closeSync();
      }
    });
    this.writeChain = next.catch(() => undefined);
    return next;
  }

  async list(limit: number): Promise<{ items: DeadLetter[]; total: number }> {
    const totalRes = await this.reader.runAndReadAll('SELECT count(*)::BIGINT FROM dead_letters');
    const total = Number(totalRes.getRows()[0]![0] as bigint);
    const res = await this.reader.runAndReadAll(
      `SELECT topic, reason, received_at, payload, payload_bytes FROM dead_letters ORDER BY received_at DESC LIMIT ${Math.trunc(limit)}`,
    );
    const items = res.getRows().map((r) => {
      const d: DeadLetter = {
        topic: r[0] as string,
        reason: r[1] as string,
        receivedAt: Number(r[2] as bigint),
        payload: Buffer.from((r[3] as { bytes: Uint8Array }).bytes),
      };
      if (r[4] !== null) d.payloadBytes = Number(r[4] as bigint);
      return d;
    });
    return { items, total };
  }

  pruneDeadLetters(r: DeadLetterRetention): Promise<{ deleted: number; bytes: number }> {
    // On the writer connection, in its chain: a delete is a write like add().
    const next = this.writeChain.then(async () => {
      // Too old, or past the byte budget counted from the newest.
      const doomed = `SELECT rowid FROM (
          SELECT rowid, received_at,
                 sum(octet_length(payload)) OVER (ORDER BY received_at DESC, rowid DESC ROWS UNBOUNDED PRECEDING) AS newer
          FROM dead_letters)
        WHERE received_at < $before OR newer > $maxBytes`;
      const params = { before: BigInt(Math.trunc(r.before)), maxBytes: BigInt(Math.trunc(r.maxBytes)) };
      const counted = await this.writer.runAndReadAll(
        `SELECT count(*)::BIGINT, coalesce(sum(octet_length(payload)), 0)::BIGINT FROM dead_letters WHERE rowid IN (${doomed})`,
        params,
      );
      const [n, bytes] = counted.getRows()[0]! as [bigint, bigint];
      if (n > 0n) await this.writer.run(`DELETE FROM dead_letters WHERE rowid IN (${doomed})`, params);
      return { deleted: Number(n), bytes: Number(bytes) };
    });
    this.writeChain = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  /** This store keeps its aggregates itself (aggregates.ts). */
  get aggregates(): ReadingAggregates {
    return this;
  }

  // The retention job's writes go through the writer's chain like ingest's: one statement stream per connection.
  private onWriter<T>(f: (db: DuckDBConnection) => Promise<T>): Promise<T> {
    const next = this.writeChain.then(() => f(this.writer));
    this.writeChain = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  downsample(from: number, to: number): Promise<number> {
    return this.onWriter((db) => agg.downsample(db, from, to));
  }

  oldestReading(): Promise<number | null> {
    return agg.oldestReading(this.reader);
  }

  pruneReadings(before: number): Promise<number> {
    return this.onWriter((db) => agg.deleteReadingsBefore(db, before));
  }

  pruneAggregates(before: number): Promise<number> {
    return this.onWriter((db) => agg.deleteAggregatesBefore(db, before));
  }

  queryAggregates(q: ReadingQuery): Promise<{ readings: AggregateRow[]; total: number }> {
    return agg.queryAggregates(this.reader, q);
  }

  async ping(): Promise<boolean> {
    if (this.closed) return false;
    try {
      await this.reader.run('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    releaseFile(this.file);
    await this.writeChain;
    // A checkpoint folds the WAL into the file so the next start is quick.
    await this.writer.run('CHECKPOINT').catch(() => undefined);
    this.reader.closeSync();
    this.writer.closeSync();
    this.instance.closeSync();
  }
}
