// The list helper of the small DuckDB stores: only the filters that are set make the WHERE clause, values go in as
// parameters (never into the SQL text), and a page comes with the filter's total.
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { readPage, Where } from './page.js';

describe('Where', () => {
  it('keeps only the filters that are set, with their values as parameters', () => {
    const w = new Where()
      .eq('status', 'open')
      .eq('kind', undefined)
      .eq('type', '')
      .cmp('at', '>=', 5n)
      .when(true, 'x IS NULL')
      .when(false, 'never');
    expect(w.toString()).toBe('WHERE status = $w0 AND at >= $w1 AND (x IS NULL)');
    expect(w.params).toEqual({ w0: 'open', w1: 5n });
    expect(new Where().eq('a', undefined).toString()).toBe('');
    const list = new Where().eq('kind', 'x').in('id', ['a', 'b']);
    expect([list.toString(), list.params]).toEqual([
      'WHERE kind = $w0 AND id IN ($w1, $w2)',
      { w0: 'x', w1: 'a', w2: 'b' },
    ]);
    expect(new Where().in('id', []).toString()).toBe('WHERE FALSE');
  });
});

describe('readPage', () => {
  it('reads one page and the total of the filter, a quote in a value staying a value', async () => {
    const db = await (await DuckDBInstance.create(':memory:')).connect();
    await db.run('CREATE TABLE t (id INTEGER, status VARCHAR)');
    await db.run(`INSERT INTO t VALUES (1, 'open'), (2, 'done'), (3, 'open'), (4, 'open'), (5, 'it''s')`);
    const open = await readPage(db, {
      select: 'id',
      from: 't',
      where: new Where().eq('status', 'open'),
      orderBy: 'id DESC',
      limit: 2,
      offset: 1,
    });
    expect(open).toEqual({ rows: [[3], [1]], total: 3 });
    const all = await readPage(db, { select: 'id', from: 't', where: new Where(), orderBy: 'id', limit: 10 });
    expect(all.total).toBe(5);
    expect(
      (
        await readPage(db, {
          select: 'id',
          from: 't',
          where: new Where().eq('status', "it's"),
          orderBy: 'id',
          limit: 10,
        })
      ).rows,
    ).toEqual([[5]]);
    db.closeSync();
  });
});
