// Alerts persisted in their own DuckDB file ($DATA_DIR/alerts.duckdb), whichever store holds the readings: alerts
// are few, updated in place and queried by state, which suits a small relational table better than a time series.
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { readPage, Where } from '../store/duckdb/page.js';
import type { Alert, AlertQuery, AlertStore } from './types.js';

export class DuckDbAlertStore implements AlertStore {
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly db: DuckDBConnection,
  ) {}

  static async open(file: string): Promise<DuckDbAlertStore> {
    if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
    const instance = await DuckDBInstance.create(file, { threads: '1', memory_limit: '64MB' });
    const db = await instance.connect();
    await db.run(`CREATE TABLE IF NOT EXISTS alerts (
      id VARCHAR PRIMARY KEY, rule_id VARCHAR NOT NULL, device_id VARCHAR NOT NULL, district VARCHAR NOT NULL,
      kind VARCHAR NOT NULL, state VARCHAR NOT NULL, severity VARCHAR NOT NULL, first_seen BIGINT NOT NULL,
      last_seen BIGINT NOT NULL, doc VARCHAR NOT NULL)`);
    return new DuckDbAlertStore(instance, db);
  }

  // One statement at a time: DuckDB connections are not meant for concurrent statements.
  private serial<T>(f: () => Promise<T>): Promise<T> {
    const next = this.chain.then(f);
    this.chain = next.catch(() => undefined);
    return next;
  }

  get(id: string): Promise<Alert | null> {
    return this.serial(async () => {
      const r = await this.db.runAndReadAll('SELECT doc FROM alerts WHERE id = $id', { id });
      const row = r.getRows()[0];
      return row ? (JSON.parse(row[0] as string) as Alert) : null;
    });
  }

  latestFor(ruleId: string, deviceId: string): Promise<Alert | null> {
    return this.serial(async () => {
      const r = await this.db.runAndReadAll(
        `SELECT doc FROM alerts WHERE rule_id = $r AND device_id = $d
         ORDER BY (state <> 'resolved') DESC, last_seen DESC LIMIT 1`,
        { r: ruleId, d: deviceId },
      );
      const row = r.getRows()[0];
      return row ? (JSON.parse(row[0] as string) as Alert) : null;
    });
  }

  put(a: Alert): Promise<void> {
    return this.serial(async () => {
      await this.db.run(
        `INSERT OR REPLACE INTO alerts VALUES ($id, $rule, $device, $district, $kind, $state, $severity, $first, $last, $doc)`,
        {
          id: a.id,
          rule: a.ruleId,
          device: a.deviceId,
          district: a.district,
          kind: a.kind,
          state: a.state,
          severity: a.severity,
          first: BigInt(a.firstSeen),
          last: BigInt(a.lastSeen),
          doc: JSON.stringify(a),
        },
      );
    });
  }

  list(q: AlertQuery): Promise<{ items: Alert[]; total: number }> {
    return this.serial(async () => {
      const where = new Where()
        .when(q.state === 'open', `state <> 'resolved'`)
        .eq('state', q.state === 'open' ? undefined : q.state)
        .eq('kind', q.kind)
        .eq('district', q.district)
        .eq('device_id', q.deviceId);
      const { rows, total } = await readPage(this.db, { select: 'doc', from: 'alerts', where, orderBy: `(state <> 'resolved') DESC, last_seen DESC`, limit: q.limit });
      return { items: rows.map((r) => JSON.parse(r[0] as string) as Alert), total };
    });
  }

  async close(): Promise<void> {
    await this.chain;
    await this.db.run('CHECKPOINT').catch(() => undefined);
    this.db.closeSync();
    this.instance.closeSync();
  }
}
