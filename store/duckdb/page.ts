// The list queries of the small DuckDB stores (alerts, events, notices, cases, statements): a WHERE clause made of the
// filters that are set, and one page of rows with the filter's total, so each store says only what it filters on.
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';

/** A WHERE clause of the conditions added, with named parameters ($w0, $w1, ...) for their values. */
export class Where {
  private readonly parts: string[] = [];
  readonly params: Record<string, DuckDBValue> = {};

  /** `column op value` when a value is given (undefined, null and '' mean "not filtered"). */
  cmp(column: string, op: '=' | '<>' | '<' | '<=' | '>' | '>=', value: DuckDBValue | undefined): this {
    if (value === undefined || value === null || value === '') return this;
    const name = `w${Object.keys(this.params).length}`;
    this.params[name] = value;
    this.parts.push(`${column} ${op} $${name}`);
    return this;
  }

  /** `column = value` when a value is given. */
  eq(column: string, value: DuckDBValue | undefined): this {
    return this.cmp(column, '=', value);
  }

  /** `column IN (values...)`; an empty list matches nothing. */
  in(column: string, values: readonly DuckDBValue[]): this {
    if (values.length === 0) {
      this.parts.push('FALSE');
      return this;
    }
    const names = values.map((v) => {
      const name = `w${Object.keys(this.params).length}`;
      this.params[name] = v;
      return `$${name}`;
    });
    this.parts.push(`${column} IN (${names.join(', ')})`);
    return this;
  }

  /** A fixed condition (no values), when `on`. */
  when(on: boolean | undefined, sql: string): this {
    if (on) this.parts.push(`(${sql})`);
    return this;
  }

  toString(): string {
    return this.parts.length ? `WHERE ${this.parts.join(' AND ')}` : '';
  }
}

export interface PageQuery {
  select: string;
  from: string;
  where: Where;
  orderBy: string;
  limit: number;
  offset?: number;
}

/** The rows of one page and how many rows the filter matches in all. Call it inside the store's serial(). */
export async function readPage(db: DuckDBConnection, q: PageQuery): Promise<{ rows: DuckDBValue[][]; total: number }> {
  const w = q.where.toString();
  const total = Number(
    (await db.runAndReadAll(`SELECT count(*)::BIGINT FROM ${q.from} ${w}`, q.where.params)).getRows()[0]![0] as bigint,
  );
  const r = await db.runAndReadAll(
    `SELECT ${q.select} FROM ${q.from} ${w} ORDER BY ${q.orderBy} LIMIT ${Math.trunc(q.limit)} OFFSET ${Math.trunc(q.offset ?? 0)}`,
    q.where.params,
  );
  return { rows: r.getRows(), total };
}
