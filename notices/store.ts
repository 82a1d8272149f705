// Notices in their own DuckDB file ($DATA_DIR/notices.duckdb): one per confirmed event, with its query code, its
// deliveries and the schedule of what is still to do (deliveries to retry, the re-check, the case to file). The
// schedule lives in the notice's own row (`next_at` and the `work` column), written by the same statement as the
// notice, so a restart picks up every due re-check and every pending delivery. One writer: the notice service
// (ROLE=all or ROLE=api, beside the review store).
import { type DuckDBValue } from '@duckdb/node-api';
import { DuckDbFile } from '../store/duckdb/file.js';
import type { StoreSchema } from '../store/duckdb/schema.js';
import { readPage, Where } from '../store/duckdb/page.js';
import type { Box, EnforcementEvent, EventType } from '../contracts/index.js';
import { normaliseCode } from './codes.js';
import { normalisePlate } from './parties.js';
import type { Channel, Notice, NoticeStatus, Party, RecordSource } from './types.js';

/** The service's bookkeeping beside a notice: not shown to anyone, kept so that a restart can carry on. */
export interface NoticeWork {
  /** Where the re-check looks: the event's box and the object's role. */
  target: { box: Box; role: EnforcementEvent['role'] };
  /** The latest re-check request: its id (`${eventId}#${attempt}`), when it was asked and when it times out. */
  request?: { id: string; requestedAt: number; deadline: number };
  /** Re-check results applied (by request id): a redelivered result changes nothing. */
  answered: string[];
  /** Filing the case (status `case` without caseId): attempts so far, next try, last error. */
  caseAttempts: number;
  caseNextAt?: number;
  caseError?: string;
  /** A channel that answers again after an outage: its waiting deliveries are due at this time, not after backoff. */
  retryAt?: Partial<Record<Channel, number>>;
}

export interface NoticeRecord {
  notice: Notice;
  work: NoticeWork;
  /** When the service must look at this notice next (epoch ms); null when nothing is left to do. */
  nextAt: number | null;
}

/** Columns taken from the event (the notice itself does not carry them). */
export interface NoticeEventKeys {
  /** The plate read on the event, if any. */
  plate?: string;
  /** The local day (YYYY-MM-DD) the event started on. */
  day: string;
  /** The event's start, epoch ms. */
  start: number;
}

export interface NoticeQuery {
  status?: NoticeStatus;
  type?: EventType;
  partyId?: string;
  limit: number;
  offset?: number;
}

/** Violations per party and type since a time (not-enforcing notices do not count). */
export interface PartyCountRow {
  party: Party;
  type: EventType;
  count: number;
  /** Start of the latest event, epoch ms. */
  lastAt: number;
}

export class CodeTakenError extends Error {}

const COLUMNS = 'doc, work, next_at';

function rowToRecord(r: DuckDBValue[]): NoticeRecord {
  return {
    notice: JSON.parse(r[0] as string) as Notice,
    work: JSON.parse(r[1] as string) as NoticeWork,
    nextAt: r[2] === null || r[2] === undefined ? null : Number(r[2] as bigint),
  };
}

const big = (n: number | null | undefined) => (n === null || n === undefined ? null : BigInt(Math.trunc(n)));

/** The notices file's schema versions (store/duckdb/schema.ts): append a step, never edit one. */
export const NOTICE_SCHEMA: StoreSchema = {
  what: 'notice store',
  migrations: [
    [
      `CREATE TABLE IF NOT EXISTS notices (
      event_id VARCHAR PRIMARY KEY, code VARCHAR NOT NULL UNIQUE, party_id VARCHAR, type VARCHAR NOT NULL,
      plate VARCHAR, day VARCHAR NOT NULL, start_ts BIGINT NOT NULL, status VARCHAR NOT NULL, recheck_at BIGINT,
      next_at BIGINT, created_at BIGINT NOT NULL, doc VARCHAR NOT NULL, work VARCHAR NOT NULL)`,
    ],
  ],
};

export class NoticeStore implements Pick<RecordSource, 'noticeByCode' | 'noticesByPlateDay'> {
  private constructor(private readonly file: DuckDbFile) {}

  static async open(file: string): Promise<NoticeStore> {
    return new NoticeStore(await DuckDbFile.open(file, NOTICE_SCHEMA));
  }

  private get db() {
    return this.file.db;
  }

  private serial<T>(f: () => Promise<T>): Promise<T> {
    return this.file.serial(f);
  }

  /**
   * Stores a new notice; an existing notice of the same event is returned unchanged (`created: false`). A code
   * already used by another notice (never expected with 80 random bits) is a CodeTakenError: draw another.
   */
  insertIfAbsent(rec: NoticeRecord, keys: NoticeEventKeys): Promise<{ record: NoticeRecord; created: boolean }> {
    return this.serial(async () => {
      const n = rec.notice;
      const cur = (
        await this.db.runAndReadAll(`SELECT ${COLUMNS} FROM notices WHERE event_id = $id`, { id: n.eventId })
      ).getRows()[0];
      if (cur) return { record: rowToRecord(cur), created: false };
      const taken =
        (await this.db.runAndReadAll(`SELECT 1 FROM notices WHERE code = $code`, { code: n.code })).getRows().length >
        0;
      if (taken) throw new CodeTakenError(`query code ${n.code} is taken`);
      await this.db.run(
        `INSERT INTO notices VALUES ($id, $code, $party, $type, $plate, $day, $start, $status, $recheck, $next, $created, $doc, $work)`,
        {
          id: n.eventId,
          code: n.code,
          party: n.party?.id ?? null,
          type: n.eventType,
          plate: keys.plate ? normalisePlate(keys.plate) : null,
          day: keys.day,
          start: BigInt(Math.trunc(keys.start)),
          status: n.status,
          recheck: big(n.recheckAt),
          next: big(rec.nextAt),
          created: BigInt(Math.trunc(n.createdAt)),
          doc: JSON.stringify(n),
          work: JSON.stringify(rec.work),
        },
      );
      return { record: rec, created: true };
    });
  }

  /** Writes a notice's new state and schedule (the event's columns never change). */
  update(rec: NoticeRecord): Promise<void> {
    return this.serial(async () => {
      const n = rec.notice;
      await this.db.run(
        `UPDATE notices SET status = $status, recheck_at = $recheck, next_at = $next, doc = $doc, work = $work WHERE event_id = $id`,
        {
          id: n.eventId,
          status: n.status,
          recheck: big(n.recheckAt),
          next: big(rec.nextAt),
          doc: JSON.stringify(n),
          work: JSON.stringify(rec.work),
        },
      );
    });
  }

  async get(eventId: string): Promise<Notice | null> {
    return (await this.record(eventId))?.notice ?? null;
  }

  record(eventId: string): Promise<NoticeRecord | null> {
    return this.serial(async () => {
      const row = (
        await this.db.runAndReadAll(`SELECT ${COLUMNS} FROM notices WHERE event_id = $id`, { id: eventId })
      ).getRows()[0];
      return row ? rowToRecord(row) : null;
    });
  }

  /** The notices of these events (those that have one), for a page of the review queue. */
  byEvents(eventIds: readonly string[]): Promise<Map<string, Notice>> {
    if (eventIds.length === 0) return Promise.resolve(new Map());
    return this.serial(async () => {
      const where = new Where().in('event_id', eventIds);
      const r = await this.db.runAndReadAll(`SELECT doc FROM notices ${where}`, where.params);
      return new Map(
        r.getRows().map((x) => {
          const n = JSON.parse(x[0] as string) as Notice;
          return [n.eventId, n];
        }),
      );
    });
  }

  /** The notice with this code (as typed: it is normalised first), or null. */
  byCode(code: string): Promise<Notice | null> {
    const c = normaliseCode(code);
    if (!c) return Promise.resolve(null);
    return this.serial(async () => {
      const row = (await this.db.runAndReadAll(`SELECT doc FROM notices WHERE code = $code`, { code: c })).getRows()[0];
      return row ? (JSON.parse(row[0] as string) as Notice) : null;
    });
  }

  /** Notices of events with this plate that started on this local day (YYYY-MM-DD). */
  byPlateDay(plate: string, day: string): Promise<Notice[]> {
    const p = normalisePlate(plate);
    if (!p || !/^\d{4}-\d{2}-\d{2}$/.test(day)) return Promise.resolve([]);
    return this.serial(async () => {
      const r = await this.db.runAndReadAll(
        `SELECT doc FROM notices WHERE plate = $plate AND day = $day ORDER BY start_ts, event_id LIMIT 50`,
        { plate: p, day },
      );
      return r.getRows().map((x) => JSON.parse(x[0] as string) as Notice);
    });
  }

  noticeByCode(code: string): Promise<Notice | null> {
    return this.byCode(code);
  }

  noticesByPlateDay(plate: string, day: string): Promise<Notice[]> {
    return this.byPlateDay(plate, day);
  }

  /** Notices with something due at `now`, the longest waiting first. */
  due(now: number, limit = 100): Promise<NoticeRecord[]> {
    return this.serial(async () => {
      const r = await this.db.runAndReadAll(
        `SELECT ${COLUMNS} FROM notices WHERE next_at IS NOT NULL AND next_at <= $now ORDER BY next_at, event_id LIMIT ${Math.trunc(limit)}`,
        { now: BigInt(Math.trunc(now)) },
      );
      return r.getRows().map(rowToRecord);
    });
  }

  /** When the earliest scheduled work is due (epoch ms), or null. */
  nextDue(): Promise<number | null> {
    return this.serial(async () => {
      const v = (await this.db.runAndReadAll(`SELECT min(next_at) FROM notices`)).getRows()[0]![0];
      return v === null || v === undefined ? null : Number(v as bigint);
    });
  }

  /** Newest first. */
  list(q: NoticeQuery): Promise<{ items: Notice[]; total: number }> {
    return this.serial(async () => {
      const where = new Where().eq('status', q.status).eq('type', q.type).eq('party_id', q.partyId);
      const { rows, total } = await readPage(this.db, {
        select: 'doc',
        from: 'notices',
        where,
        orderBy: 'created_at DESC, event_id DESC',
        limit: q.limit,
        offset: q.offset,
      });
      return { items: rows.map((x) => JSON.parse(x[0] as string) as Notice), total };
    });
  }

  /**
   * The party's other violations of this type whose event started at or after `since`: every notice recorded
   * before this one counts, whatever its outcome, except where the camera was not enforcing.
   */
  priorOffences(partyId: string, type: EventType, since: number, excludeEventId: string): Promise<number> {
    return this.serial(async () => {
      const r = await this.db.runAndReadAll(
        `SELECT count(*)::BIGINT FROM notices WHERE party_id = $party AND type = $type AND start_ts >= $since AND event_id <> $ex AND status <> 'not-enforcing'`,
        { party: partyId, type, since: BigInt(Math.trunc(since)), ex: excludeEventId },
      );
      return Number(r.getRows()[0]![0] as bigint);
    });
  }

  /** Violations per party and type of events that started at or after `since` (the party as last recorded). */
  partyCounts(since: number): Promise<PartyCountRow[]> {
    return this.serial(async () => {
      const r = await this.db.runAndReadAll(
        `SELECT party_id, type, count(*)::BIGINT, max(start_ts), arg_max(doc, created_at) FROM notices
         WHERE party_id IS NOT NULL AND start_ts >= $since AND status <> 'not-enforcing' GROUP BY party_id, type ORDER BY party_id, type`,
        { since: BigInt(Math.trunc(since)) },
      );
      return r.getRows().map((x) => ({
        party: (JSON.parse(x[4] as string) as Notice).party!,
        type: x[1] as EventType,
        count: Number(x[2] as bigint),
        lastAt: Number(x[3] as bigint),
      }));
    });
  }

  /** Notices by status (metrics). */
  countByStatus(): Promise<Record<string, number>> {
    return this.serial(async () => {
      const r = await this.db.runAndReadAll(`SELECT status, count(*)::BIGINT FROM notices GROUP BY status`);
      return Object.fromEntries(r.getRows().map(([s, n]) => [s as string, Number(n as bigint)]));
    });
  }

  close(): Promise<void> {
    return this.file.close();
  }
}
