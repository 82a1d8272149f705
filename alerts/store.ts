// Alerts persisted in their own DuckDB file ($DATA_DIR/alerts.duckdb), whichever store holds the readings: alerts
// are few, updated in place and queried by state, which suits a small relational table better than a time series.
import { DuckDbFile } from '../store/duckdb/file.js';
import type { StoreSchema } from '../store/duckdb/schema.js';
import { readPage, Where } from '../store/duckdb/page.js';
import type { Alert, AlertQuery, AlertStore } from './types.js';

/** The alerts file's schema versions (store/duckdb/schema.ts): append a step, never edit one. */
export const ALERT_SCHEMA: StoreSchema = {
  what: 'alert store',
  migrations: [
    [
      `CREATE TABLE IF NOT EXISTS alerts (
      id VARCHAR PRIMARY KEY, rule_id VARCHAR NOT NULL, device_id VARCHAR NOT NULL, district VARCHAR NOT NULL,
      kind VARCHAR NOT NULL, state VARCHAR NOT NULL, severity VARCHAR NOT NULL, first_seen BIGINT NOT NULL,
      last_seen BIGINT NOT NULL, doc VARCHAR NOT NULL)`,
    ],
  ],
};

export class DuckDbAlertStore implements AlertStore {
  private constructor(private readonly file: DuckDbFile) {}

  static async open(file: string): Promise<DuckDbAlertStore> {
    return new DuckDbAlertStore(await DuckDbFile.open(file, ALERT_SCHEMA));
  }

  private get db() {
    return this.file.db;
  }

  // One statement at a time: DuckDB connections are not meant for concurrent statements.
  private serial<T>(f: () => Promise<T>): Promise<T> {
    return this.file.serial(f);
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
      const { rows, total } = await readPage(this.db, {
        select: 'doc',
        from: 'alerts',
        where,
        orderBy: `(state <> 'resolved') DESC, last_seen DESC`,
        limit: q.limit,
      });
      return { items: rows.map((r) => JSON.parse(r[0] as string) as Alert), total };
    });
  }

  close(): Promise<void> {
    return this.file.close();
  }
}
