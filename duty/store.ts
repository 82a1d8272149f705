// Duty pages in their own DuckDB file ($DATA_DIR/duty.duckdb): one page per alert that called someone, its messages
// (the outbox: each with its status, attempts and next attempt) and its next piece of work, in one row, so a restart
// carries on with due messages and escalations and nothing is sent twice once sent.
import { DuckDbFile } from '../store/duckdb/file.js';
import type { StoreSchema } from '../store/duckdb/schema.js';
import type { DutyPage } from './types.js';

export const DUTY_SCHEMA: StoreSchema = {
  what: 'duty store',
  migrations: [
    [
      `CREATE TABLE IF NOT EXISTS duty_pages (alert_id VARCHAR PRIMARY KEY, next_at BIGINT, created_at BIGINT NOT NULL, doc VARCHAR NOT NULL)`,
    ],
  ],
};

export class DutyStore {
  private constructor(private readonly file: DuckDbFile) {}

  static async open(file: string): Promise<DutyStore> {
    return new DutyStore(await DuckDbFile.open(file, DUTY_SCHEMA));
  }

  /** Adds the page unless the alert has one; returns the stored page and whether it is new. */
  insertIfAbsent(p: DutyPage): Promise<{ page: DutyPage; created: boolean }> {
    return this.file.serial(async () => {
      const r = await this.file.db.runAndReadAll(
        `INSERT INTO duty_pages VALUES ($id, $next, $created, $doc) ON CONFLICT DO NOTHING RETURNING alert_id`,
        {
          id: p.alertId,
          next: p.nextAt === null ? null : BigInt(p.nextAt),
          created: BigInt(p.createdAt),
          doc: JSON.stringify(p),
        },
      );
      if (r.getRows().length > 0) return { page: p, created: true };
      const cur = (
        await this.file.db.runAndReadAll(`SELECT doc FROM duty_pages WHERE alert_id = $id`, { id: p.alertId })
      ).getRows()[0]!;
      return { page: JSON.parse(cur[0] as string) as DutyPage, created: false };
    });
  }

  put(p: DutyPage): Promise<void> {
    return this.file.serial(async () => {
      await this.file.db.run(`UPDATE duty_pages SET next_at = $next, doc = $doc WHERE alert_id = $id`, {
        id: p.alertId,
        next: p.nextAt === null ? null : BigInt(p.nextAt),
        doc: JSON.stringify(p),
      });
    });
  }

  get(alertId: string): Promise<DutyPage | null> {
    return this.file.serial(async () => {
      const row = (
        await this.file.db.runAndReadAll(`SELECT doc FROM duty_pages WHERE alert_id = $id`, { id: alertId })
      ).getRows()[0];
      return row ? (JSON.parse(row[0] as string) as DutyPage) : null;
    });
  }

  due(now: number, limit = 100): Promise<DutyPage[]> {
    return this.file.serial(async () => {
      const r = await this.file.db.runAndReadAll(
        `SELECT doc FROM duty_pages WHERE next_at IS NOT NULL AND next_at <= $now ORDER BY next_at LIMIT ${Math.trunc(limit)}`,
        { now: BigInt(now) },
      );
      return r.getRows().map((x) => JSON.parse(x[0] as string) as DutyPage);
    });
  }

  /** Newest first. */
  list(limit: number): Promise<DutyPage[]> {
    return this.file.serial(async () => {
      const r = await this.file.db.runAndReadAll(
        `SELECT doc FROM duty_pages ORDER BY created_at DESC LIMIT ${Math.trunc(limit)}`,
      );
      return r.getRows().map((x) => JSON.parse(x[0] as string) as DutyPage);
    });
  }

  close(): Promise<void> {
    return this.file.close();
  }
}
