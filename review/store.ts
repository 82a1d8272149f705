// Enforcement events awaiting a person's decision, in their own DuckDB file ($DATA_DIR/events.duckdb). An event
// arrives from the vision stage as "pending"; only a reviewer's confirmation (console issue) makes it a case.
// Events arrive at least once (bus redelivery): inserting is idempotent by event id, and a repeat never resets a
// decision already taken.
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import type { EnforcementEvent } from '../contracts/index.js';

export type ReviewStatus = 'pending' | 'confirmed' | 'rejected';

export interface StoredEvent {
  event: EnforcementEvent;
  status: ReviewStatus;
  receivedAt: number;
}

export interface EventQuery {
  status?: ReviewStatus;
  cameraId?: string;
  type?: EnforcementEvent['type'];
  limit: number;
  offset?: number;
}

export class EventStore {
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly db: DuckDBConnection,
  ) {}

  static async open(file: string): Promise<EventStore> {
    if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
    const instance = await DuckDBInstance.create(file, { threads: '1', memory_limit: '64MB' });
    const db = await instance.connect();
    await db.run(`CREATE TABLE IF NOT EXISTS events (
      id VARCHAR PRIMARY KEY, type VARCHAR NOT NULL, camera_id VARCHAR NOT NULL, district VARCHAR NOT NULL,
      status VARCHAR NOT NULL, start_ts BIGINT NOT NULL, received_at BIGINT NOT NULL, doc VARCHAR NOT NULL)`);
    return new EventStore(instance, db);
  }

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const next = this.chain.then(f);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /**
   * Adds events not seen before, and completes pending ones (the same id again with the object's final dwell and
   * last sighting). A decided event is never changed. Returns what was added or updated.
   */
  add(events: readonly EnforcementEvent[]): Promise<{ added: EnforcementEvent[]; updated: EnforcementEvent[] }> {
    return this.serial(async () => {
      const added: EnforcementEvent[] = [];
      const updated: EnforcementEvent[] = [];
      for (const e of events) {
        const doc = JSON.stringify(e);
        const r = await this.db.runAndReadAll(
          `INSERT INTO events VALUES ($id, $type, $camera, $district, 'pending', $start, $now, $doc) ON CONFLICT DO NOTHING RETURNING id`,
          { id: e.id, type: e.type, camera: e.camera.id, district: e.camera.district, start: BigInt(e.start), now: BigInt(Date.now()), doc },
        );
        if (r.getRows().length > 0) {
          added.push(e);
          continue;
        }
        const u = await this.db.runAndReadAll(
          `UPDATE events SET doc = $doc WHERE id = $id AND status = 'pending' AND doc <> $doc RETURNING id`,
          { id: e.id, doc },
        );
        if (u.getRows().length > 0) updated.push(e);
      }
      return { added, updated };
    });
  }

  get(id: string): Promise<StoredEvent | null> {
    return this.serial(async () => {
      const r = await this.db.runAndReadAll('SELECT doc, status, received_at FROM events WHERE id = $id', { id });
      const row = r.getRows()[0];
      return row ? { event: JSON.parse(row[0] as string) as EnforcementEvent, status: row[1] as ReviewStatus, receivedAt: Number(row[2] as bigint) } : null;
    });
  }

  /** Oldest first: the review queue is worked from its oldest end. */
  list(q: EventQuery): Promise<{ items: StoredEvent[]; total: number }> {
    return this.serial(async () => {
      const where: string[] = [];
      const params: Record<string, DuckDBValue> = {};
      if (q.status) {
        where.push('status = $status');
        params.status = q.status;
      }
      if (q.cameraId) {
        where.push('camera_id = $camera');
        params.camera = q.cameraId;
      }
      if (q.type) {
        where.push('type = $type');
        params.type = q.type;
      }
      const cond = where.length ? `WHERE ${where.join(' AND ')}` : '';
      const total = Number((await this.db.runAndReadAll(`SELECT count(*)::BIGINT FROM events ${cond}`, params)).getRows()[0]![0] as bigint);
      const r = await this.db.runAndReadAll(
        `SELECT doc, status, received_at FROM events ${cond} ORDER BY start_ts, id LIMIT ${Math.trunc(q.limit)} OFFSET ${Math.trunc(q.offset ?? 0)}`,
        params,
      );
      const items = r.getRows().map((row) => ({
        event: JSON.parse(row[0] as string) as EnforcementEvent,
        status: row[1] as ReviewStatus,
        receivedAt: Number(row[2] as bigint),
      }));
      return { items, total };
    });
  }

  async close(): Promise<void> {
    await this.chain.catch(() => undefined);
    this.db.closeSync();
    this.instance.closeSync();
  }
}
