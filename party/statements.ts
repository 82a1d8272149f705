// Statements (陈述申辩) parties submit on the public page, in their own DuckDB file ($DATA_DIR/statements.duckdb).
// A statement reaches the reviewers' queue as an objection; a reviewer handles it once, with an answer, and that is
// never changed afterwards (who, when and what is the record of having heard the party).
// Anyone holding a record's code can submit, so a record's statements are capped in two pools (party/README.md,
// "Statement caps"): the public pool, shared by everyone with the code, capped per record, per client and per hour;
// and the party's own slots, open only to a submission that gives the number the notice went to. The caps are
// checked and the row inserted in one conditional INSERT, so parallel posts cannot all pass a check made before.
import crypto from 'node:crypto';
import { DuckDbFile } from '../store/duckdb/file.js';
import type { StoreSchema } from '../store/duckdb/schema.js';
import { readPage, Where } from '../store/duckdb/page.js';
import type { Statement } from '../notices/types.js';

export type StatementStatus = Statement['status'];

/** What the public route hands in; the store gives the id, the time and the status. */
export interface NewStatement {
  eventId: string;
  code: string;
  text: string;
  photos: Statement['photos'];
  contact?: string;
  /** Epoch ms; now when absent. */
  submittedAt?: number;
  /** Who sent it (the client address), for the per-client cap; kept beside the statement, never shown. */
  client?: string;
  /** 'party': the submission gave the number the notice went to (the party's own slots); 'public' otherwise. */
  pool?: StatementPool;
}

export type StatementPool = 'public' | 'party';

/** The caps one record's statements are held to (party/config.ts PartyLimits.statement). */
export interface StatementCaps {
  /** Statements from anyone with the code (the public pool). */
  maxPerRecord: number;
  /** Of the public pool, from one client. */
  maxPerClient: number;
  /** Of the public pool, within the last `windowMs`: a flood is spread out, not finished in a minute. */
  maxPerWindow: number;
  windowMs: number;
  /** The party's own slots, beyond the public pool. */
  partySlots: number;
}

/** Why a statement was not taken: the cap that was reached. */
export type CapReason = 'record' | 'client' | 'rate' | 'party';

export type AddResult = { ok: true; statement: Statement } | { ok: false; reason: CapReason };

export interface StatementQuery {
  status?: StatementStatus;
  limit: number;
  offset?: number;
}

export type HandleResult =
  | { ok: true; statement: Statement }
  | { ok: false; reason: 'not_found' }
  /** Someone handled it first: `statement` holds that answer (409). */
  | { ok: false; reason: 'handled'; statement: Statement };

/** The statements file's schema versions (store/duckdb/schema.ts): append a step, never edit one. */
export const STATEMENT_SCHEMA: StoreSchema = {
  what: 'statement store',
  migrations: [
    [
      `CREATE TABLE IF NOT EXISTS statements (
      id VARCHAR PRIMARY KEY, event_id VARCHAR NOT NULL, code VARCHAR NOT NULL, status VARCHAR NOT NULL,
      submitted_at BIGINT NOT NULL, handled_at BIGINT, doc VARCHAR NOT NULL)`,
      // The caps came before versions: statements written before them count in the public pool, from no known client.
      `ALTER TABLE statements ADD COLUMN IF NOT EXISTS pool VARCHAR DEFAULT 'public'`,
      `ALTER TABLE statements ADD COLUMN IF NOT EXISTS client VARCHAR`,
    ],
  ],
};

export class StatementStore {
  private constructor(
    private readonly file: DuckDbFile,
    private readonly now: () => number,
  ) {}

  /** `file` is $DATA_DIR/statements.duckdb in the platform, ':memory:' in tests. */
  static async open(file: string, o: { now?: () => number } = {}): Promise<StatementStore> {
    const f = await DuckDbFile.open(file, STATEMENT_SCHEMA);
    return new StatementStore(f, o.now ?? Date.now);
  }

  private get db() {
    return this.file.db;
  }

  // handle() reads then writes: one statement at a time.
  private serial<T>(f: () => Promise<T>): Promise<T> {
    return this.file.serial(f);
  }

  /**
   * Adds a statement unless `caps` say its pool is full. The counts and the insert are one statement (INSERT ...
   * SELECT ... WHERE count < cap), so the cap holds exactly however many posts arrive at once; without `caps`
   * nothing is counted.
   */
  add(s: NewStatement, caps?: StatementCaps): Promise<AddResult> {
    return this.serial(async () => {
      const st: Statement = {
        id: `st-${crypto.randomUUID()}`,
        eventId: s.eventId,
        code: s.code,
        text: s.text,
        photos: s.photos.map((p) => ({ sha256: p.sha256, bytes: p.bytes, type: p.type })),
        ...(s.contact ? { contact: s.contact } : {}),
        submittedAt: s.submittedAt ?? this.now(),
        status: 'open',
      };
      const pool: StatementPool = s.pool ?? 'public';
      const client = s.client ?? '';
      // The party's slots are held to their number only: the party may write from anywhere, at any pace.
      const [max, perClient, perWindow] = !caps
        ? [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER]
        : pool === 'party'
          ? [caps.partySlots, caps.partySlots, caps.partySlots]
          : [caps.maxPerRecord, caps.maxPerClient, caps.maxPerWindow];
      const since = BigInt(st.submittedAt - (caps?.windowMs ?? 0));
      const params = {
        id: st.id,
        event: st.eventId,
        code: st.code,
        at: BigInt(st.submittedAt),
        doc: JSON.stringify(st),
        pool,
        client,
        since,
      };
      const r = await this.db.runAndReadAll(
        `INSERT INTO statements (id, event_id, code, status, submitted_at, doc, pool, client)
         SELECT $id, $event, $code, 'open', $at, $doc, $pool, $client
         WHERE (SELECT count(*) FROM statements WHERE event_id = $event AND pool = $pool) < $max
           AND (SELECT count(*) FROM statements WHERE event_id = $event AND pool = $pool AND client = $client) < $perClient
           AND (SELECT count(*) FROM statements WHERE event_id = $event AND pool = $pool AND submitted_at > $since) < $perWindow
         RETURNING id`,
        { ...params, max: BigInt(max), perClient: BigInt(perClient), perWindow: BigInt(perWindow) },
      );
      if (r.getRows().length > 0) return { ok: true, statement: st };
      if (pool === 'party') return { ok: false, reason: 'party' };
      const c = (
        await this.db.runAndReadAll(
          `SELECT count(*), count(*) FILTER (WHERE client = $client) FROM statements WHERE event_id = $event AND pool = 'public'`,
          { event: st.eventId, client },
        )
      ).getRows()[0]!;
      const reason: CapReason = Number(c[0]) >= max ? 'record' : Number(c[1]) >= perClient ? 'client' : 'rate';
      return { ok: false, reason };
    });
  }

  /** Removes a statement whose photos could not be stored, so no statement points at missing images. */
  remove(id: string): Promise<void> {
    return this.serial(async () => {
      await this.db.run(`DELETE FROM statements WHERE id = $id AND status = 'open'`, { id });
    });
  }

  /** How many statements an event has in each pool: the route's cheap first check, before the body is read. */
  counts(eventId: string): Promise<Record<StatementPool, number>> {
    return this.serial(async () => {
      const rows = (
        await this.db.runAndReadAll(`SELECT pool, count(*) FROM statements WHERE event_id = $event GROUP BY pool`, {
          event: eventId,
        })
      ).getRows();
      const out: Record<StatementPool, number> = { public: 0, party: 0 };
      for (const [pool, n] of rows) out[pool === 'party' ? 'party' : 'public'] += Number(n);
      return out;
    });
  }

  get(id: string): Promise<Statement | null> {
    return this.serial(async () => {
      const row = (await this.db.runAndReadAll(`SELECT doc FROM statements WHERE id = $id`, { id })).getRows()[0];
      return row ? (JSON.parse(row[0] as string) as Statement) : null;
    });
  }

  /**
   * Open statements oldest first (the queue is worked from its oldest end); handled ones most recently handled
   * first; all of them newest first.
   */
  list(q: StatementQuery): Promise<{ items: Statement[]; total: number }> {
    return this.serial(async () => {
      const order =
        q.status === 'open'
          ? 'submitted_at ASC, id'
          : q.status === 'handled'
            ? 'handled_at DESC, submitted_at DESC, id'
            : 'submitted_at DESC, id';
      const { rows, total } = await readPage(this.db, {
        select: 'doc',
        from: 'statements',
        where: new Where().eq('status', q.status),
        orderBy: order,
        limit: q.limit,
        offset: q.offset,
      });
      return { items: rows.map((row) => JSON.parse(row[0] as string) as Statement), total };
    });
  }

  /** The statements on one event, oldest first. */
  byEvent(eventId: string): Promise<Statement[]> {
    return this.serial(async () => {
      const r = await this.db.runAndReadAll(
        `SELECT doc FROM statements WHERE event_id = $event ORDER BY submitted_at, id`,
        { event: eventId },
      );
      return r.getRows().map((row) => JSON.parse(row[0] as string) as Statement);
    });
  }

  /** Marks a statement handled with the reviewer's answer, once: a second attempt gets the first answer back. */
  handle(id: string, by: { username: string; role: string }, note: string): Promise<HandleResult> {
    return this.serial(async () => {
      const row = (await this.db.runAndReadAll(`SELECT doc FROM statements WHERE id = $id`, { id })).getRows()[0];
      if (!row) return { ok: false, reason: 'not_found' };
      const cur = JSON.parse(row[0] as string) as Statement;
      if (cur.status !== 'open') return { ok: false, reason: 'handled', statement: cur };
      const at = this.now();
      const next: Statement = {
        ...cur,
        status: 'handled',
        handled: { by: { username: by.username, role: by.role }, at, note },
      };
      // The condition on status keeps the write single even if a second process ever shared the file.
      const u = await this.db.runAndReadAll(
        `UPDATE statements SET status = 'handled', handled_at = $at, doc = $doc WHERE id = $id AND status = 'open' RETURNING id`,
        { id, at: BigInt(at), doc: JSON.stringify(next) },
      );
      if (u.getRows().length === 0) {
        const again = (await this.db.runAndReadAll(`SELECT doc FROM statements WHERE id = $id`, { id })).getRows()[0]!;
        return { ok: false, reason: 'handled', statement: JSON.parse(again[0] as string) as Statement };
      }
      return { ok: true, statement: next };
    });
  }

  close(): Promise<void> {
    return this.file.close();
  }
}
