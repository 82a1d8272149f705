// Statements (陈述申辩) parties submit on the public page, in their own DuckDB file ($DATA_DIR/statements.duckdb).
// A statement reaches the reviewers' queue as an objection; a reviewer handles it once, with an answer, and that is
// never changed afterwards (who, when and what is the record of having heard the party).
import crypto from 'node:crypto';
import { DuckDbFile } from '../store/duckdb/file.js';
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
}

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

export class StatementStore {
  private constructor(
    private readonly file: DuckDbFile,
    private readonly now: () => number,
  ) {}

  /** `file` is $DATA_DIR/statements.duckdb in the platform, ':memory:' in tests. */
  static async open(file: string, o: { now?: () => number } = {}): Promise<StatementStore> {
    const f = await DuckDbFile.open(file, 'statement store', [
      `CREATE TABLE IF NOT EXISTS statements (
      id VARCHAR PRIMARY KEY, event_id VARCHAR NOT NULL, code VARCHAR NOT NULL, status VARCHAR NOT NULL,
      submitted_at BIGINT NOT NULL, handled_at BIGINT, doc VARCHAR NOT NULL)`,
    ]);
    return new StatementStore(f, o.now ?? Date.now);
  }

  private get db() {
    return this.file.db;
  }

  // handle() reads then writes: one statement at a time.
  private serial<T>(f: () => Promise<T>): Promise<T> {
    return this.file.serial(f);
  }


  add(s: NewStatement): Promise<Statement> {
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
      await this.db.run(
        `INSERT INTO statements (id, event_id, code, status, submitted_at, doc) VALUES ($id, $event, $code, 'open', $at, $doc)`,
        { id: st.id, event: st.eventId, code: st.code, at: BigInt(st.submittedAt), doc: JSON.stringify(st) },
      );
      return st;
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
      const order = q.status === 'open' ? 'submitted_at ASC, id' : q.status === 'handled' ? 'handled_at DESC, submitted_at DESC, id' : 'submitted_at DESC, id';
      const { rows, total } = await readPage(this.db, { select: 'doc', from: 'statements', where: new Where().eq('status', q.status), orderBy: order, limit: q.limit, offset: q.offset });
      return { items: rows.map((row) => JSON.parse(row[0] as string) as Statement), total };
    });
  }

  /** The statements on one event, oldest first. */
  byEvent(eventId: string): Promise<Statement[]> {
    return this.serial(async () => {
      const r = await this.db.runAndReadAll(`SELECT doc FROM statements WHERE event_id = $event ORDER BY submitted_at, id`, { event: eventId });
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
      const next: Statement = { ...cur, status: 'handled', handled: { by: { username: by.username, role: by.role }, at, note } };
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
