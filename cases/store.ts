// Cases and their outbox in one DuckDB file ($DATA_DIR/cases.duckdb). The delivery state lives in the case's own
// row, written by the same statement that files the case: a case can never exist without its pending delivery, so
// nothing is lost while the case system is down or the process restarts. The built-in inbox (the embedded
// default's stand-in for a case system) keeps what it received in a table of its own.
import type { DuckDBValue } from '@duckdb/node-api';
import { DuckDbFile } from '../store/duckdb/file.js';
import type { StoreSchema } from '../store/duckdb/schema.js';
import { readPage, Where } from '../store/duckdb/page.js';
import { sameAct } from './same-act.js';
import type { CaseDoc, CaseView, Delivery, DeliveryStatus } from './types.js';

export interface CaseQuery {
  status?: DeliveryStatus;
  limit: number;
  offset?: number;
}

/** A case due for delivery: its id, the exact body to send, and its attempts so far. */
export interface OutboxItem {
  id: string;
  body: string;
  attempts: number;
}

export interface InboxItem {
  receivedAt: string;
  case: CaseDoc;
}

const iso = (v: DuckDBValue) =>
  v === null || v === undefined ? undefined : new Date(Number(v as bigint)).toISOString();
const CASE_COLUMNS = 'doc, adapter, status, attempts, last_error, delivered_at, next_attempt_at';

function rowToView(r: DuckDBValue[]): CaseView {
  const doc = JSON.parse(r[0] as string) as CaseDoc;
  const status = r[2] as DeliveryStatus;
  const delivery: Delivery = { adapter: r[1] as string, status, attempts: Number(r[3]) };
  if (r[4] !== null && r[4] !== undefined) delivery.lastError = r[4] as string;
  const deliveredAt = iso(r[5]!);
  if (deliveredAt) delivery.deliveredAt = deliveredAt;
  if (status === 'pending') delivery.nextAttemptAt = iso(r[6]!);
  return { ...doc, delivery };
}

/** The cases file's schema versions (store/duckdb/schema.ts): append a step, never edit one. */
export const CASE_SCHEMA: StoreSchema = {
  what: 'case store',
  migrations: [
    [
      `CREATE TABLE IF NOT EXISTS cases (
      id VARCHAR PRIMARY KEY, source_type VARCHAR NOT NULL, source_id VARCHAR NOT NULL, event_type VARCHAR NOT NULL,
      code VARCHAR, district VARCHAR NOT NULL, created_at BIGINT NOT NULL, doc VARCHAR NOT NULL,
      adapter VARCHAR NOT NULL, status VARCHAR NOT NULL, attempts INTEGER NOT NULL, last_error VARCHAR,
      next_attempt_at BIGINT NOT NULL, delivered_at BIGINT, published BOOLEAN NOT NULL)`,
      `CREATE TABLE IF NOT EXISTS inbox (case_id VARCHAR PRIMARY KEY, received_at BIGINT NOT NULL, doc VARCHAR NOT NULL)`,
      `CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)`,
    ],
  ],
};

export class CaseStore {
  private constructor(
    private readonly file: DuckDbFile,
    /** Cases are filed for sources from this time on (epoch ms): when this store was first opened. */
    readonly since: number,
  ) {}

  static async open(file: string): Promise<CaseStore> {
    const f = await DuckDbFile.open(file, CASE_SCHEMA);
    try {
      await f.db.run(`INSERT INTO meta VALUES ('since', $now) ON CONFLICT DO NOTHING`, { now: String(Date.now()) });
      const since = Number((await f.db.runAndReadAll(`SELECT value FROM meta WHERE key = 'since'`)).getRows()[0]![0]);
      return new CaseStore(f, since);
    } catch (e) {
      await f.close();
      throw e;
    }
  }

  private get db() {
    return this.file.db;
  }

  // One statement at a time: DuckDB connections are not meant for concurrent statements.
  private serial<T>(f: () => Promise<T>): Promise<T> {
    return this.file.serial(f);
  }

  /**
   * Files a case with its pending delivery. Idempotent by case id: an existing case is returned unchanged. An event's
   * case is refused when a case of the same act exists (same camera, zone, vehicle and stay: cases/same-act.ts): that
   * case is returned with `sameActAs`, so a second confirmation of one parked car never becomes a second case.
   */
  insert(
    doc: CaseDoc,
    adapter: string,
    now = Date.now(),
  ): Promise<{ case: CaseView; created: boolean; sameActAs?: string }> {
    return this.serial(async () => {
      const byId = (
        await this.db.runAndReadAll(`SELECT ${CASE_COLUMNS} FROM cases WHERE id = $id`, { id: doc.id })
      ).getRows()[0];
      if (byId) return { case: rowToView(byId), created: false };
      if (doc.source.type === 'event' && doc.detection.kind === 'vision') {
        // Checked and inserted under the same serial chain: no second filing can slip in between.
        const rows = (
          await this.db.runAndReadAll(
            `SELECT ${CASE_COLUMNS} FROM cases WHERE source_type = 'event' AND event_type = $etype
               AND json_extract_string(doc, '$.detection.cameraId') = $camera AND json_extract_string(doc, '$.detection.zone.id') = $zone
             ORDER BY created_at`,
            { etype: doc.eventType, camera: doc.detection.cameraId, zone: doc.detection.zone.id },
          )
        ).getRows();
        for (const row of rows) {
          const other = rowToView(row);
          if (sameAct(other, doc)) return { case: other, created: false, sameActAs: other.id };
        }
      }
      const r = await this.db.runAndReadAll(
        `INSERT INTO cases VALUES ($id, $stype, $sid, $etype, $code, $district, $now, $doc, $adapter, 'pending', 0, NULL, $now, NULL, false)
         ON CONFLICT DO NOTHING RETURNING id`,
        {
          id: doc.id,
          stype: doc.source.type,
          sid: doc.source.id,
          etype: doc.eventType,
          code: doc.code,
          district: doc.district,
          now: BigInt(now),
          doc: JSON.stringify(doc),
          adapter,
        },
      );
      const created = r.getRows().length > 0;
      const row = (
        await this.db.runAndReadAll(`SELECT ${CASE_COLUMNS} FROM cases WHERE id = $id`, { id: doc.id })
      ).getRows()[0]!;
      return { case: rowToView(row), created };
    });
  }

  get(id: string): Promise<CaseView | null> {
    return this.serial(async () => {
      const row = (
        await this.db.runAndReadAll(`SELECT ${CASE_COLUMNS} FROM cases WHERE id = $id`, { id })
      ).getRows()[0];
      return row ? rowToView(row) : null;
    });
  }

  /** Which sources of a type already have a case (for recovery scans). */
  sourcesWithCase(type: 'event' | 'alert', ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return Promise.resolve(new Set());
    return this.serial(async () => {
      const params: Record<string, DuckDBValue> = { t: type };
      const names = ids.map((id, i) => {
        params[`s${i}`] = id;
        return `$s${i}`;
      });
      const r = await this.db.runAndReadAll(
        `SELECT source_id FROM cases WHERE source_type = $t AND source_id IN (${names.join(',')})`,
        params,
      );
      return new Set(r.getRows().map((x) => x[0] as string));
    });
  }

  /** Newest first. */
  list(q: CaseQuery): Promise<{ items: CaseView[]; total: number }> {
    return this.serial(async () => {
      const where = new Where().eq('status', q.status);
      const { rows, total } = await readPage(this.db, {
        select: CASE_COLUMNS,
        from: 'cases',
        where,
        orderBy: 'created_at DESC, id DESC',
        limit: q.limit,
        offset: q.offset,
      });
      return { items: rows.map(rowToView), total };
    });
  }

  /** Cases by delivery status (for the metrics). */
  countByStatus(): Promise<Record<DeliveryStatus, number>> {
    return this.serial(async () => {
      const out: Record<DeliveryStatus, number> = { pending: 0, delivered: 0, failed: 0 };
      const r = await this.db.runAndReadAll(`SELECT status, count(*)::BIGINT FROM cases GROUP BY status`);
      for (const [status, n] of r.getRows()) out[status as DeliveryStatus] = Number(n as bigint);
      return out;
    });
  }

  /** Pending deliveries whose next attempt is due, the longest-waiting schedule first (then the oldest case). */
  due(now: number, limit: number): Promise<OutboxItem[]> {
    return this.serial(async () => {
      const r = await this.db.runAndReadAll(
        `SELECT id, doc, attempts FROM cases WHERE status = 'pending' AND next_attempt_at <= $now ORDER BY next_attempt_at, created_at, id LIMIT ${Math.trunc(limit)}`,
        { now: BigInt(now) },
      );
      return r.getRows().map((x) => ({ id: x[0] as string, body: x[1] as string, attempts: Number(x[2]) }));
    });
  }

  /** When the earliest pending delivery is due (epoch ms), or null when nothing is pending. */
  nextDue(): Promise<number | null> {
    return this.serial(async () => {
      const v = (
        await this.db.runAndReadAll(`SELECT min(next_attempt_at) FROM cases WHERE status = 'pending'`)
      ).getRows()[0]![0];
      return v === null || v === undefined ? null : Number(v as bigint);
    });
  }

  markDelivered(id: string, adapter: string, attempts: number, at: number): Promise<void> {
    return this.serial(async () => {
      await this.db.run(
        `UPDATE cases SET status = 'delivered', adapter = $a, attempts = $n, delivered_at = $at, last_error = NULL WHERE id = $id`,
        {
          id,
          a: adapter,
          n: attempts,
          at: BigInt(at),
        },
      );
    });
  }

  markRetry(id: string, adapter: string, attempts: number, nextAt: number, error: string): Promise<void> {
    return this.serial(async () => {
      await this.db.run(
        `UPDATE cases SET adapter = $a, attempts = $n, next_attempt_at = $next, last_error = $err WHERE id = $id AND status = 'pending'`,
        {
          id,
          a: adapter,
          n: attempts,
          next: BigInt(nextAt),
          err: error,
        },
      );
    });
  }

  markFailed(id: string, adapter: string, attempts: number, error: string): Promise<void> {
    return this.serial(async () => {
      await this.db.run(
        `UPDATE cases SET status = 'failed', adapter = $a, attempts = $n, last_error = $err WHERE id = $id`,
        { id, a: adapter, n: attempts, err: error },
      );
    });
  }

  /** Makes every pending delivery due now (the case system is back: no need to wait out each backoff). */
  expedite(now: number): Promise<void> {
    return this.serial(async () => {
      await this.db.run(`UPDATE cases SET next_attempt_at = $now WHERE status = 'pending' AND next_attempt_at > $now`, {
        now: BigInt(now),
      });
    });
  }

  /** Puts a failed delivery back in the outbox (after the cause was fixed). Returns false for an unknown or not failed case. */
  requeue(id: string, now: number): Promise<boolean> {
    return this.serial(async () => {
      const r = await this.db.runAndReadAll(
        `UPDATE cases SET status = 'pending', next_attempt_at = $now WHERE id = $id AND status = 'failed' RETURNING id`,
        {
          id,
          now: BigInt(now),
        },
      );
      return r.getRows().length > 0;
    });
  }

  /** Cases not yet published on the bus topic `cases`, oldest first. */
  unpublished(limit: number): Promise<{ id: string; body: string }[]> {
    return this.serial(async () => {
      const r = await this.db.runAndReadAll(
        `SELECT id, doc FROM cases WHERE NOT published ORDER BY created_at, id LIMIT ${Math.trunc(limit)}`,
      );
      return r.getRows().map((x) => ({ id: x[0] as string, body: x[1] as string }));
    });
  }

  markPublished(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return Promise.resolve();
    return this.serial(async () => {
      for (const id of ids) await this.db.run(`UPDATE cases SET published = true WHERE id = $id`, { id });
    });
  }

  /** The built-in inbox received a case. Idempotent by case id, like any receiver honouring Idempotency-Key. */
  inboxPut(doc: CaseDoc, at: number): Promise<boolean> {
    return this.serial(async () => {
      const r = await this.db.runAndReadAll(
        `INSERT INTO inbox VALUES ($id, $at, $doc) ON CONFLICT DO NOTHING RETURNING case_id`,
        {
          id: doc.id,
          at: BigInt(at),
          doc: JSON.stringify(doc),
        },
      );
      return r.getRows().length > 0;
    });
  }

  /** Newest first. */
  inboxList(limit: number, offset = 0): Promise<{ items: InboxItem[]; total: number }> {
    return this.serial(async () => {
      const total = Number(
        (await this.db.runAndReadAll(`SELECT count(*)::BIGINT FROM inbox`)).getRows()[0]![0] as bigint,
      );
      const r = await this.db.runAndReadAll(
        `SELECT received_at, doc FROM inbox ORDER BY received_at DESC, case_id DESC LIMIT ${Math.trunc(limit)} OFFSET ${Math.trunc(offset)}`,
      );
      return {
        items: r.getRows().map((x) => ({ receivedAt: iso(x[0]!)!, case: JSON.parse(x[1] as string) as CaseDoc })),
        total,
      };
    });
  }

  /**
   * Deletes case records, with their copy in the built-in inbox: for the retention job only, which keeps every case
   * the case system has not accepted yet (operations/retention/).
   */
  deleteMany(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return Promise.resolve(0);
    return this.serial(async () => {
      const cases = new Where().in('id', ids);
      const inbox = new Where().in('case_id', ids);
      await this.db.run(`DELETE FROM inbox ${inbox.toString()}`, inbox.params);
      return (await this.db.run(`DELETE FROM cases ${cases.toString()}`, cases.params)).rowsChanged;
    });
  }

  close(): Promise<void> {
    return this.file.close();
  }
}
