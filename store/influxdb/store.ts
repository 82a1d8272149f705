// The production store: readings and dead letters in one InfluxDB 2 bucket, shared by every ingest and API process.
// Schema and queries are explained in docs/influxdb.md. In short:
//   <kind>,device=<id>,district=<d>[,grid=<cell>] <metric>=<float>...,seq=<n or -1>i <ts ms>
//   dead_letters,instance=<id> topic="..",reason="..",payload_bytes=<n>i,kept_bytes=<n>i,payload="<base64>"[,payload_1=..]
//                              <receivedAt ms * 1e6 + counter, ns>
// Idempotency is InfluxDB's own: a point is (measurement, tags, time) and writing it again overwrites its fields.
import { ConfigError } from '../../runtime/config.js';
import { randomBytes } from 'node:crypto';
import { escape, InfluxDB, setLogger } from '@influxdata/influxdb-client';
import { KINDS, METRICS, type DeadLetter, type SensorKind, type StoredReading } from '../../contracts/index.js';
import type { DeadLetterRetention, ReadingBatch, ReadingQuery, ReadingRow, Store } from '../types.js';
import { ident, influxQL, ms, str, sumColumns, sumRowMax, type InfluxQLTarget } from './influxql.js';
import { COUNT_READINGS, FLAG_SUFFIX, isNonMetric, LineBatch, Lines, ReadingLines, SEQ_FIELD } from './lines.js';
import { AckedWriter, DEFAULT_WRITE_TUNING, type StoreLogger, type WriteTuning } from './writer.js';
import { InfluxAggregates } from './aggregates.js';

export interface InfluxStoreOptions {
  url: string;
  token: string;
  org: string;
  bucket: string;
  /** Write retries, request sizes and timeouts; defaults in DEFAULT_WRITE_TUNING. */
  write?: Partial<WriteTuning>;
  /** Timeout of one InfluxQL query, ms (default 30 s); each start-up check waits at most 10 s. */
  queryTimeoutMs?: number;
  /**
   * What the process does with the bucket, so the start-up checks ask the token for that only: 'write' for a process
   * that only writes (its dead letters), whose token may read nothing (least privilege). Default 'read-write'.
   */
  access?: 'read-write' | 'write';
  /**
   * Receives points dropped as older than the bucket's retention, each failed write attempt that is retried, and the
   * client library's own messages. The client has one process-wide logger, so the last store opened with a logger
   * gets those; without one the client writes them to the console.
   */
  logger?: StoreLogger;
}

/** A start-up check failed: the message says what is wrong and which INFLUX_* variable to set. */
// A ConfigError, so the process stops with the message alone: these are the operator's to fix.
export class StoreConfigError extends ConfigError {
  override name = 'StoreConfigError';
}

const DEAD_LETTERS = 'dead_letters';
/** base64 characters per payload field: a multiple of 4 under InfluxDB's 1 MiB limit on a string field. */
const PAYLOAD_FIELD_CHARS = 768 * 1024;
/** Payload bytes kept per dead letter (ingest refuses more than INGEST_MAX_PAYLOAD_BYTES, 256 KiB by default). */
export const MAX_DEAD_LETTER_PAYLOAD = 4 * 1024 * 1024;
const payloadField = (part: number) => (part === 0 ? 'payload' : `payload_${part}`);
const FROM_READINGS = KINDS.map(ident).join(',');

export type AggregateFn = 'mean' | 'min' | 'max' | 'count' | 'sum' | 'median';

export interface AggregateQuery {
  kind: SensorKind;
  metric: string;
  fn: AggregateFn;
  /** Window length, ms (GROUP BY time). */
  everyMs: number;
  from: number;
  to: number;
  deviceId?: string;
  district?: string;
}

export interface LatestReading {
  deviceId: string;
  district: string;
  ts: number;
  metrics: Record<string, number>;
}

export class InfluxStore implements Store {
  readonly name = 'influxdb';
  /** One writer per request in flight (WriteTuning.concurrency). */
  private readonly readings: AckedWriter[];
  private readonly minLinesPerPart: number;
  private readonly lines = new ReadingLines();
  private readonly tuning: WriteTuning;
  private readonly deadLetters: AckedWriter;
  private readonly ql: InfluxQLTarget;
  /** Tags this process's dead letters: two processes can then never write the same dead-letter point. */
  private readonly instance = randomBytes(6).toString('hex');
  /** Nanoseconds added to a dead letter's millisecond, so that dead letters of one ms do not overwrite each other. */
  private dlCounter = 0;
  /** The timestamp given to each dead letter, so that ingest retrying add() with the same items overwrites them. */
  private readonly dlTimes = new WeakMap<DeadLetter, string>();
  private closed = false;
  /** The 15-minute aggregates the retention job keeps (measurement readings_15m, aggregates.ts). */
  readonly aggregates: InfluxAggregates;

  private constructor(private readonly o: InfluxStoreOptions) {
    const t = { ...DEFAULT_WRITE_TUNING, ...o.write };
    this.tuning = t;
    const influx = new InfluxDB({ url: o.url, token: o.token, timeout: t.timeout });
    this.readings = Array.from(
      { length: Math.max(1, t.concurrency) },
      () => new AckedWriter(influx, o.org, o.bucket, 'ms', t, o.logger),
    );
    // A batch is split over the writers only when each part stays a worthwhile request.
    this.minLinesPerPart = Math.min(1000, t.linesPerRequest);
    this.deadLetters = new AckedWriter(influx, o.org, o.bucket, 'ns', t, o.logger);
    this.ql = { url: o.url, token: o.token, db: o.bucket, timeoutMs: o.queryTimeoutMs ?? 30_000 };
    this.aggregates = new InfluxAggregates({ url: o.url, token: o.token, org: o.org, bucket: o.bucket, ql: this.ql });
    const log = o.logger;
    if (log) {
      const reason = (e: unknown) => (e instanceof Error ? e.message : e === undefined ? undefined : String(e));
      setLogger({
        warn: (message, e) => log.warn({ err: reason(e) }, `influxdb client: ${message}`),
        error: (message, e) => log.error({ err: reason(e) }, `influxdb client: ${message}`),
      });
    }
  }

  /**
   * Opens the store after checking, in this order, that InfluxDB answers and is healthy (INFLUX_URL), that it
   * accepts the token (INFLUX_TOKEN), that the organization (INFLUX_ORG) and the bucket in it (INFLUX_BUCKET)
   * exist, that the token may write to the bucket and that InfluxQL sees the bucket (with access 'write', only that it
   * may write). Each failure throws a StoreConfigError whose message is enough to fix it.
   */
  static async open(opts: InfluxStoreOptions): Promise<InfluxStore> {
    await checkConfig(opts, 10_000);
    return new InfluxStore(opts);
  }

  // ------------------------------------------------------------------------------------------------ readings

  write(readings: readonly StoredReading[]): Promise<void> {
    const batch = this.batch();
    batch.add(readings);
    return batch.write();
  }

  batch(): ReadingBatch {
    const lines = new LineBatch(this.lines);
    return { add: (readings) => lines.add(readings), write: () => this.writeLines(lines) };
  }

  /** A batch's lines, split over the writers when each part stays a worthwhile request. */
  private writeLines(lines: LineBatch): Promise<void> {
    const n = lines.count;
    if (n === 0) return Promise.resolve();
    const { linesPerRequest, bytesPerRequest } = this.tuning;
    const parts = Math.min(this.readings.length, Math.floor(n / this.minLinesPerPart)) || 1;
    if (parts === 1) return this.readings[0]!.writeBodies(lines.bodies(0, n, linesPerRequest, bytesPerRequest));
    const size = Math.ceil(n / parts);
    const writes: Promise<void>[] = [];
    for (let k = 0; k < parts; k++) {
      const bodies = lines.bodies(k * size, Math.min(n, (k + 1) * size), linesPerRequest, bytesPerRequest);
      writes.push(this.readings[k]!.writeBodies(bodies));
    }
    // allSettled first: every request has ended (none still running against the caller's retry) before it fails.
    return Promise.allSettled(writes).then((r) => {
      const failed = r.find((x) => x.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    });
  }

  async query(q: ReadingQuery): Promise<{ readings: ReadingRow[]; total: number }> {
    if (q.metric !== undefined && isNonMetric(q.metric)) return { readings: [], total: 0 };
    const where = [`"device" = ${str(q.deviceId)}`];
    if (q.from !== undefined) where.push(`time >= ${ms(q.from)}`);
    if (q.to !== undefined) where.push(`time < ${ms(q.to)}`);
    const cond = where.join(' AND ');
    const limit = Math.trunc(q.limit);
    // total: with a metric, its count; without, the distinct timestamps (COUNT_READINGS).
    const counted = q.metric === undefined ? COUNT_READINGS : `count(${ident(q.metric)})`;
    const statements = [`SELECT ${counted} FROM ${FROM_READINGS} WHERE ${cond}`];
    // LIMIT 0 means "no limit" to InfluxQL, so an empty page is not asked for. LIMIT applies per measurement: a
    // device normally lives in one; if it appears in several, merging and cutting below still gives the first ones.
    if (limit > 0) {
      const select = q.metric !== undefined ? `${ident(q.metric)}, ${ident(q.metric + FLAG_SUFFIX)}` : '*::field';
      statements.push(`SELECT ${select} FROM ${FROM_READINGS} WHERE ${cond} ORDER BY time ASC LIMIT ${limit}`);
    }
    const [counts = [], rows = []] = await influxQL(this.ql, statements.join('; '));
    const total = sumRowMax(counts);
    const byTs = new Map<number, ReadingRow>();
    for (const s of rows) {
      for (const row of s.values) {
        const ts = row[0] as number;
        let r = byTs.get(ts);
        s.columns.forEach((c, i) => {
          const v = row[i];
          if (i === 0 || v === null || v === undefined) return;
          if (!r) byTs.set(ts, (r = { ts, metrics: {} }));
          if (c.endsWith(FLAG_SUFFIX) && typeof v === 'string') (r.flags ??= {})[c.slice(0, -FLAG_SUFFIX.length)] = v;
          else if (!isNonMetric(c) && typeof v === 'number') r.metrics[c] = v;
        });
      }
    }
    const readings = [...byTs.values()]
      .filter((r) => Object.keys(r.metrics).length > 0)
      .sort((a, b) => a.ts - b.ts)
      .slice(0, Math.max(limit, 0));
    return { readings, total };
  }

  async countPoints(deviceId?: string): Promise<number> {
    const where = deviceId === undefined ? '' : ` WHERE "device" = ${str(deviceId)}`;
    // count(*) gives one count_<field> column per field: the metrics are the points, seq and reading are not.
    const [series = []] = await influxQL(this.ql, `SELECT count(*) FROM ${FROM_READINGS}${where}`);
    return sumColumns(series, (c) => !isNonMetric(c.replace(/^count_/, '')));
  }

  // ------------------------------------------------------------------------------------------------ dashboards

  /** One metric in time windows, e.g. the 1-minute mean of laeq_db of a device (fill(none): empty windows skipped). */
  async aggregate(q: AggregateQuery): Promise<{ ts: number; value: number }[]> {
    const where = [`time >= ${ms(q.from)}`, `time < ${ms(q.to)}`];
    if (q.deviceId !== undefined) where.push(`"device" = ${str(q.deviceId)}`);
    if (q.district !== undefined) where.push(`"district" = ${str(q.district)}`);
    const [series = []] = await influxQL(
      this.ql,
      `SELECT ${q.fn}(${ident(q.metric)}) FROM ${ident(q.kind)} WHERE ${where.join(' AND ')}` +
        ` GROUP BY time(${Math.max(1, Math.trunc(q.everyMs))}ms) fill(none)`,
    );
    return series.flatMap((s) => s.values.map((r) => ({ ts: r[0] as number, value: r[1] as number })));
  }

  /** The newest reading of every device of a kind (optionally of one district, and since a time to bound the scan). */
  async latest(kind: SensorKind, opts: { district?: string; since?: number } = {}): Promise<LatestReading[]> {
    const where: string[] = [];
    if (opts.district !== undefined) where.push(`"district" = ${str(opts.district)}`);
    if (opts.since !== undefined) where.push(`time >= ${ms(opts.since)}`);
    const metrics = Object.keys(METRICS[kind]);
    // last(seq) selects each device's newest point (every line has seq); the other fields come from that same point.
    const [series = []] = await influxQL(
      this.ql,
      `SELECT last(${ident(SEQ_FIELD)}), ${metrics.map(ident).join(', ')} FROM ${ident(kind)}` +
        `${where.length ? ` WHERE ${where.join(' AND ')}` : ''} GROUP BY "device", "district"`,
    );
    return series.flatMap((s) =>
      s.values.map((row) => {
        const m: Record<string, number> = {};
        s.columns.forEach((c, i) => {
          const v = row[i];
          if (i > 1 && typeof v === 'number') m[c] = v;
        });
        return { deviceId: s.tags?.device ?? '', district: s.tags?.district ?? '', ts: row[0] as number, metrics: m };
      }),
    );
  }

  // ------------------------------------------------------------------------------------------------ dead letters

  add(items: readonly DeadLetter[]): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    const lines = new Lines();
    for (const d of items) lines.text(this.deadLetterLine(d));
    const { linesPerRequest, bytesPerRequest } = this.tuning;
    return this.deadLetters.writeBodies(lines.bodies(0, lines.count, linesPerRequest, bytesPerRequest));
  }

  private deadLetterLine(d: DeadLetter): string {
    // InfluxDB refuses a string field over 1 MiB (HTTP 422, and ingest would retry that batch for ever), so the
    // base64 is spread over payload, payload_1, ...; past MAX_DEAD_LETTER_PAYLOAD the payload is cut and the reason
    // says so.
    const cut = d.payload.length > MAX_DEAD_LETTER_PAYLOAD;
    const kept = cut ? d.payload.subarray(0, MAX_DEAD_LETTER_PAYLOAD) : d.payload;
    const b64 = kept.toString('base64');
    const reason = cut
      ? `${d.reason} [payload cut to its first ${MAX_DEAD_LETTER_PAYLOAD} of ${d.payload.length} bytes]`
      : d.reason;
    // payload_bytes: the size as received; kept_bytes: what is stored, which the size retention counts.
    const received = Math.max(d.payloadBytes ?? 0, d.payload.length);
    let fields = `topic=${escape.quoted(d.topic)},reason=${escape.quoted(reason)},payload_bytes=${received}i,kept_bytes=${kept.length}i`;
    let part = 0;
    do {
      fields += `,${payloadField(part)}="${b64.slice(part * PAYLOAD_FIELD_CHARS, (part + 1) * PAYLOAD_FIELD_CHARS)}"`;
      part++;
    } while (part * PAYLOAD_FIELD_CHARS < b64.length);
    return `${DEAD_LETTERS},instance=${this.instance} ${fields} ${this.deadLetterTime(d)}`;
  }

  private deadLetterTime(d: DeadLetter): string {
    let t = this.dlTimes.get(d);
    if (t === undefined) {
      this.dlCounter = (this.dlCounter + 1) % 1_000_000;
      t = `${Math.trunc(d.receivedAt)}${String(this.dlCounter).padStart(6, '0')}`;
      this.dlTimes.set(d, t);
    }
    return t;
  }

  async list(limit: number): Promise<{ items: DeadLetter[]; total: number }> {
    const n = Math.trunc(limit);
    const statements = [`SELECT count("topic") FROM ${DEAD_LETTERS}`];
    // Without GROUP BY the instances' series merge into one, ordered by time across all of them. `*::field`
    // because the number of payload fields varies.
    if (n > 0) statements.push(`SELECT *::field FROM ${DEAD_LETTERS} ORDER BY time DESC LIMIT ${n}`);
    const [counts = [], rows = []] = await influxQL(this.ql, statements.join('; '));
    const items = rows.flatMap((s) => {
      const col = (name: string) => s.columns.indexOf(name);
      const [topic, reason, received] = [col('topic'), col('reason'), col('payload_bytes')];
      const parts: number[] = [];
      for (let p = 0, i: number; (i = col(payloadField(p))) >= 0; p++) parts.push(i);
      return s.values.map((r) => {
        const d: DeadLetter = {
          receivedAt: r[0] as number, // epoch=ms drops the counter's nanoseconds
          topic: r[topic] as string,
          reason: r[reason] as string,
          payload: Buffer.from(parts.map((i) => (r[i] as string | null) ?? '').join(''), 'base64'),
        };
        const n = received >= 0 ? (r[received] as number | null) : null;
        if (n !== null && n > d.payload.length) d.payloadBytes = n;
        return d;
      });
    });
    return { items, total: sumColumns(counts, () => true) };
  }

  /**
   * Deletes (InfluxDB's delete API, by time: it cannot delete by field) the dead letters received before r.before,
   * and those at and before the newest one whose kept bytes, summed from the newest, pass r.maxBytes. Dead letters
   * written before kept_bytes existed count 0 bytes; their age still ends them.
   */
  async pruneDeadLetters(r: DeadLetterRetention): Promise<{ deleted: number; bytes: number }> {
    const [over = []] = await influxQL(
      this.ql,
      `SELECT c FROM (SELECT cumulative_sum(kept_bytes) AS c FROM ${DEAD_LETTERS} ORDER BY time DESC) ` +
        `WHERE c > ${Math.trunc(r.maxBytes)} ORDER BY time DESC LIMIT 1`,
    );
    const newestOver = over[0]?.values[0]?.[0] as number | undefined;
    // Every point before `end` (ms) goes; a point's ms holds its counter's nanoseconds, so `end` is the next ms.
    const end = Math.max(Math.trunc(r.before), newestOver === undefined ? 0 : newestOver + 1);
    const [counts = []] = await influxQL(
      this.ql,
      `SELECT count(topic), sum(kept_bytes) FROM ${DEAD_LETTERS} WHERE time < ${ms(end)}`,
    );
    const deleted = sumColumns(counts, (c) => c === 'count');
    if (deleted === 0) return { deleted: 0, bytes: 0 };
    const url = new URL('/api/v2/delete', this.o.url);
    url.search = new URLSearchParams({ org: this.o.org, bucket: this.o.bucket }).toString();
    const res = await fetch(url, {
      method: 'POST',
      headers: { Authorization: `Token ${this.o.token}`, 'Content-Type': 'application/json' },
      // stop is the last nanosecond before `end`.
      body: JSON.stringify({
        start: '1970-01-01T00:00:00Z',
        stop: new Date(end - 1).toISOString().replace('Z', '999999Z'),
        predicate: `_measurement="${DEAD_LETTERS}"`,
      }),
      signal: AbortSignal.timeout(this.ql.timeoutMs),
    });
    if (!res.ok)
      throw new Error(`deleting old dead letters failed: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
    return { deleted, bytes: sumColumns(counts, (c) => c === 'sum') };
  }

  // ------------------------------------------------------------------------------------------------ lifecycle

  async ping(): Promise<boolean> {
    if (this.closed) return false;
    try {
      const res = await fetch(new URL('/health', this.o.url), { signal: AbortSignal.timeout(2000) });
      return res.ok && ((await res.json()) as { status?: string }).status === 'pass';
    } catch {
      return false;
    }
  }

  /** Points dropped by InfluxDB as older than the bucket's retention (they count as written; see writer.ts). */
  get droppedOutsideRetention(): number {
    return this.readings.reduce((n, w) => n + w.droppedOutsideRetention, 0);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.readings.map((w) => w.close()), this.deadLetters.close()]);
  }
}

// ---------------------------------------------------------------------------------------------------- start-up

interface Answer {
  status: number;
  text: string;
  json: { status?: string; message?: string; code?: string; buckets?: { id: string; name: string }[] } | undefined;
}

function fail(msg: string): never {
  throw new StoreConfigError(msg);
}

async function checkConfig(o: InfluxStoreOptions, timeoutMs: number): Promise<void> {
  for (const [v, k] of [
    [o.url, 'INFLUX_URL'],
    [o.token, 'INFLUX_TOKEN'],
    [o.org, 'INFLUX_ORG'],
    [o.bucket, 'INFLUX_BUCKET'],
  ] as const) {
    if (!v) fail(`${k} is empty: set it (INFLUX_URL, INFLUX_TOKEN, INFLUX_ORG and INFLUX_BUCKET go together)`);
  }
  let base: URL;
  try {
    base = new URL(o.url);
  } catch {
    return fail(`INFLUX_URL "${o.url}" is not a URL: set it to InfluxDB's address, e.g. http://127.0.0.1:8086`);
  }
  const call = async (path: string, init: RequestInit = {}, auth = true): Promise<Answer> => {
    let res: Response;
    try {
      res = await fetch(new URL(path, base), {
        ...init,
        headers: { ...(auth ? { Authorization: `Token ${o.token}` } : {}), ...init.headers },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      const why =
        err.name === 'TimeoutError'
          ? `no answer in ${timeoutMs} ms`
          : (err.cause?.code ?? err.cause?.message ?? err.message);
      return fail(`cannot reach InfluxDB at ${o.url} (${why}): check INFLUX_URL and that InfluxDB is running`);
    }
    const text = await res.text();
    let json: Answer['json'];
    try {
      json = JSON.parse(text) as Answer['json'];
    } catch {
      json = undefined;
    }
    return { status: res.status, text, json };
  };

  // 1. Reachable, InfluxDB, healthy (/health needs no token).
  const health = await call('/health', {}, false);
  if (!health.json || typeof health.json.status !== 'string') {
    fail(`${o.url} does not answer like InfluxDB 2 (GET /health: HTTP ${health.status}): check INFLUX_URL`);
  }
  if (health.json?.status !== 'pass') {
    fail(`InfluxDB at ${o.url} is not healthy: ${health.json?.message ?? health.text.slice(0, 200)}`);
  }

  if (o.access === 'write') return checkWriteOnly(o, call);

  // 2. Token, organization and bucket in one call: the bucket lookup names whichever is missing.
  const q = new URLSearchParams({ org: o.org, name: o.bucket });
  const buckets = await call(`/api/v2/buckets?${q}`);
  const msg = buckets.json?.message ?? buckets.text.slice(0, 200);
  if (buckets.status === 401) {
    fail(
      `InfluxDB at ${o.url} does not accept INFLUX_TOKEN (HTTP 401 ${msg}): set INFLUX_TOKEN to a valid API token with read and write access to bucket "${o.bucket}"`,
    );
  }
  if (buckets.status === 403) {
    fail(
      `INFLUX_TOKEN may not read the buckets of organization "${o.org}" (HTTP 403 ${msg}): give it read access to bucket "${o.bucket}"`,
    );
  }
  if (buckets.status === 404 && /organization/i.test(msg)) {
    fail(
      `organization "${o.org}" does not exist on InfluxDB at ${o.url}: set INFLUX_ORG to an existing organization name`,
    );
  }
  if (buckets.status === 404) {
    fail(
      `bucket "${o.bucket}" does not exist in organization "${o.org}": set INFLUX_BUCKET to an existing bucket, or create it (influx bucket create -n ${o.bucket} -o ${o.org})`,
    );
  }
  if (buckets.status !== 200)
    fail(`InfluxDB at ${o.url} answered GET /api/v2/buckets with HTTP ${buckets.status}: ${msg}`);
  const bucket = buckets.json?.buckets?.find((b) => b.name === o.bucket);
  if (!bucket) {
    fail(
      `bucket "${o.bucket}" is not visible in organization "${o.org}": it does not exist (set INFLUX_BUCKET) or INFLUX_TOKEN has no read access to it (set INFLUX_TOKEN)`,
    );
  }

  // 3. Write permission: an empty write is checked for access and stores nothing.
  const w = await call(`/api/v2/write?${new URLSearchParams({ org: o.org, bucket: o.bucket, precision: 'ms' })}`, {
    method: 'POST',
    body: '',
  });
  if (w.status === 401 || w.status === 403) {
    fail(
      `INFLUX_TOKEN may not write to bucket "${o.bucket}" (HTTP ${w.status}): set INFLUX_TOKEN to a token with write access to it`,
    );
  }
  if (w.status !== 204 && w.status !== 200)
    fail(
      `InfluxDB refused a test write to bucket "${o.bucket}" (HTTP ${w.status}): ${w.json?.message ?? w.text.slice(0, 200)}`,
    );

  // 4. InfluxQL finds the bucket as a database (a DBRP mapping; 2.7 also maps buckets virtually).
  try {
    await influxQL({ url: o.url, token: o.token, db: o.bucket, timeoutMs }, `SHOW MEASUREMENTS LIMIT 1`);
  } catch (e) {
    const m = (e as Error).message;
    if (/database not found/.test(m)) {
      fail(
        `InfluxQL does not see bucket "${o.bucket}" as a database: create the mapping (influx v1 dbrp create --db ${o.bucket} --rp autogen --bucket-id ${bucket.id} --default) or check INFLUX_BUCKET`,
      );
    }
    fail(`InfluxQL on ${o.url}/query failed: ${m}`);
  }
}

/** A write-only token sees no bucket: the empty write alone checks the token, the organization and the bucket. */
async function checkWriteOnly(
  o: InfluxStoreOptions,
  call: (path: string, init?: RequestInit) => Promise<Answer>,
): Promise<void> {
  const w = await call(`/api/v2/write?${new URLSearchParams({ org: o.org, bucket: o.bucket, precision: 'ms' })}`, {
    method: 'POST',
    body: '',
  });
  const msg = w.json?.message ?? w.text.slice(0, 200);
  if (w.status === 401 || w.status === 403) {
    fail(
      `INFLUX_TOKEN may not write to bucket "${o.bucket}" of organization "${o.org}" (HTTP ${w.status} ${msg}): set INFLUX_TOKEN to a token with write access to it`,
    );
  }
  if (w.status === 404)
    fail(
      `InfluxDB at ${o.url} has no bucket "${o.bucket}" in organization "${o.org}" (${msg}): check INFLUX_ORG and INFLUX_BUCKET`,
    );
  if (w.status !== 204 && w.status !== 200)
    fail(`InfluxDB refused a test write to bucket "${o.bucket}" (HTTP ${w.status}): ${msg}`);
}
