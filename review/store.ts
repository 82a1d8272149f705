// Enforcement events awaiting a person's decision, in their own DuckDB file ($DATA_DIR/events.duckdb). An event
// arrives from the vision stage as "pending"; only a reviewer's confirmation makes it a case. Events arrive at least
// once (bus redelivery): inserting is idempotent by event id, and a repeat never resets a decision already taken.
// A decision (who, when, why) is written once and never changed afterwards.
import type { DuckDBValue } from '@duckdb/node-api';
import { DuckDbFile } from '../store/duckdb/file.js';
import type { StoreSchema } from '../store/duckdb/schema.js';
import { readPage, Where } from '../store/duckdb/page.js';
import type { EnforcementEvent } from '../contracts/index.js';

export type ReviewStatus = 'pending' | 'confirmed' | 'rejected';

export const REJECT_REASONS = ['false-detection', 'permitted', 'duplicate', 'other'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** A reviewer's decision on an event, as stored with it. */
export interface ReviewDecision {
  decision: 'confirm' | 'reject';
  /** Why it was rejected; required for a rejection, absent for a confirmation. */
  reason?: RejectReason;
  note?: string;
  /** The signed-in user who decided (from the session, never from the request body). */
  by: { username: string; role: string; displayName?: string };
  /** Epoch ms. */
  at: number;
}

export interface StoredEvent {
  event: EnforcementEvent;
  status: ReviewStatus;
  receivedAt: number;
  /** Present once decided. */
  review?: ReviewDecision;
  /** The case a confirmation created (see cases/). */
  caseId?: string;
  /**
   * How a confirmed event ended without a case, when it did (notices/: corrected after notice, notice only, camera
   * not published, re-check unavailable). Such events are not case candidates any more.
   */
  outcome?: string;
}

export interface EventQuery {
  status?: ReviewStatus;
  cameraId?: string;
  type?: EnforcementEvent['type'];
  /** Decided at or after this time (epoch ms); only decided events. */
  decidedFrom?: number;
  /** Decided before this time (epoch ms); only decided events. */
  decidedTo?: number;
  /** Only confirmed events with neither a case nor an outcome yet (recovery after a crash between two writes). */
  withoutCase?: boolean;
  limit: number;
  offset?: number;
}

export type DecideResult =
  | { ok: true; stored: StoredEvent }
  /** `decided`: someone decided first; `stored` holds that decision (409). */
  | { ok: false; reason: 'not_found' }
  | { ok: false; reason: 'decided'; stored: StoredEvent };

const COLUMNS = 'doc, status, received_at, review, case_id, outcome';

function rowToStored(row: DuckDBValue[]): StoredEvent {
  const s: StoredEvent = {
    event: JSON.parse(row[0] as string) as EnforcementEvent,
    status: row[1] as ReviewStatus,
    receivedAt: Number(row[2] as bigint),
  };
  if (row[3] !== null && row[3] !== undefined) s.review = JSON.parse(row[3] as string) as ReviewDecision;
  if (row[4] !== null && row[4] !== undefined) s.caseId = row[4] as string;
  if (row[5] !== null && row[5] !== undefined) s.outcome = row[5] as string;
  return s;
}

/** The events file's schema versions (store/duckdb/schema.ts): append a step, never edit one. */
export const EVENT_SCHEMA: StoreSchema = {
  what: 'event store',
  migrations: [
    [
      `CREATE TABLE IF NOT EXISTS events (
      id VARCHAR PRIMARY KEY, type VARCHAR NOT NULL, camera_id VARCHAR NOT NULL, district VARCHAR NOT NULL,
      status VARCHAR NOT NULL, start_ts BIGINT NOT NULL, received_at BIGINT NOT NULL, doc VARCHAR NOT NULL)`,
      // Decisions, cases and outcomes came before versions: files written before them get the columns here.
      `ALTER TABLE events ADD COLUMN IF NOT EXISTS review VARCHAR`,
      `ALTER TABLE events ADD COLUMN IF NOT EXISTS decided_at BIGINT`,
      `ALTER TABLE events ADD COLUMN IF NOT EXISTS case_id VARCHAR`,
      `ALTER TABLE events ADD COLUMN IF NOT EXISTS outcome VARCHAR`,
    ],
  ],
};

export class EventStore {
  private constructor(private readonly file: DuckDbFile) {}

  static async open(file: string): Promise<EventStore> {
    return new EventStore(await DuckDbFile.open(file, EVENT_SCHEMA));
  }

  private get db() {
    return this.file.db;
  }

  private serial<T>(f: () => Promise<T>): Promise<T> {
    return this.file.serial(f);
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
          `INSERT INTO events (id, type, camera_id, district, status, start_ts, received_at, doc)
           VALUES ($id, $type, $camera, $district, 'pending', $start, $now, $doc) ON CONFLICT DO NOTHING RETURNING id`,
          {
            id: e.id,
            type: e.type,
            camera: e.camera.id,
            district: e.camera.district,
            start: BigInt(e.start),
            now: BigInt(Date.now()),
            doc,
          },
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

  /** The stored events of these ids (those that exist), by id: one query for a page of notices or cases. */
  getMany(ids: readonly string[]): Promise<Map<string, StoredEvent>> {
    return this.serial(async () => {
      const where = new Where().in('id', ids);
      const r = await this.db.runAndReadAll(`SELECT ${COLUMNS} FROM events ${where}`, where.params);
      return new Map(
        r.getRows().map((row) => {
          const s = rowToStored(row);
          return [s.event.id, s];
        }),
      );
    });
  }

  get(id: string): Promise<StoredEvent | null> {
    return this.serial(async () => {
      const r = await this.db.runAndReadAll(`SELECT ${COLUMNS} FROM events WHERE id = $id`, { id });
      const row = r.getRows()[0];
      return row ? rowToStored(row) : null;
    });
  }

  /**
   * Records a decision on a pending event, once: the conditional update is the arbiter when two reviewers decide
   * the same event at the same moment (the second gets `decided` with the first one's decision).
   */
  decide(id: string, d: ReviewDecision): Promise<DecideResult> {
    return this.serial(async () => {
      const status: ReviewStatus = d.decision === 'confirm' ? 'confirmed' : 'rejected';
      const r = await this.db.runAndReadAll(
        `UPDATE events SET status = $status, review = $review, decided_at = $at
         WHERE id = $id AND status = 'pending' RETURNING ${COLUMNS}`,
        { id, status, review: JSON.stringify(d), at: BigInt(d.at) },
      );
      const row = r.getRows()[0];
      if (row) return { ok: true, stored: rowToStored(row) };
      const cur = (await this.db.runAndReadAll(`SELECT ${COLUMNS} FROM events WHERE id = $id`, { id })).getRows()[0];
      return cur ? { ok: false, reason: 'decided', stored: rowToStored(cur) } : { ok: false, reason: 'not_found' };
    });
  }

  /** Links a confirmed event to its case. Set once; a later call with another id changes nothing. */
  setCaseId(id: string, caseId: string): Promise<void> {
    return this.serial(async () => {
      await this.db.run(
        `UPDATE events SET case_id = $caseId WHERE id = $id AND status = 'confirmed' AND case_id IS NULL`,
        { id, caseId },
      );
    });
  }

  /** Records how a confirmed event ended without a case (see StoredEvent.outcome); a case, once linked, wins. */
  setOutcome(id: string, outcome: string): Promise<void> {
    return this.serial(async () => {
      await this.db.run(
        `UPDATE events SET outcome = $outcome WHERE id = $id AND status = 'confirmed' AND case_id IS NULL`,
        { id, outcome },
      );
    });
  }

  /** Oldest first: the review queue is worked from its oldest end. */
  list(q: EventQuery): Promise<{ items: StoredEvent[]; total: number }> {
    return this.serial(async () => {
      const ms = (t: number | undefined) => (t === undefined ? undefined : BigInt(Math.trunc(t)));
      const where = new Where()
        .eq('status', q.status)
        .eq('camera_id', q.cameraId)
        .eq('type', q.type)
        .when(q.decidedFrom !== undefined || q.decidedTo !== undefined, 'decided_at IS NOT NULL')
        .cmp('decided_at', '>=', ms(q.decidedFrom))
        .cmp('decided_at', '<', ms(q.decidedTo))
        .when(q.withoutCase, `status = 'confirmed' AND case_id IS NULL AND outcome IS NULL`);
      const { rows, total } = await readPage(this.db, {
        select: COLUMNS,
        from: 'events',
        where,
        orderBy: 'start_ts, id',
        limit: q.limit,
        offset: q.offset,
      });
      return { items: rows.map(rowToStored), total };
    });
  }

  /** Deletes events: for the retention job only, after their legal period and holds are checked (operations/retention/). */
  deleteMany(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return Promise.resolve(0);
    return this.serial(async () => {
      const where = new Where().in('id', ids);
      return (await this.db.run(`DELETE FROM events ${where.toString()}`, where.params)).rowsChanged;
    });
  }

  /** True when a kept event still names this evidence image (an image is deleted only when none does). */
  mentions(sha256: string): Promise<boolean> {
    return this.serial(async () => {
      const r = await this.db.runAndReadAll(`SELECT 1 FROM events WHERE contains(doc, $sha) LIMIT 1`, { sha: sha256 });
      return r.getRows().length > 0;
    });
  }

  close(): Promise<void> {
    return this.file.close();
  }
}
