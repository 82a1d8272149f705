import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProbeGuard, LogThrottle } from './probe-guard.js';
import { formatQueryCode, normaliseQueryCode } from './code.js';
import type { Statement } from '../notices/types.js';
import { StatementStore, type AddResult } from './statements.js';

const photo = { sha256: 'a'.repeat(64), bytes: 1234, type: 'image/jpeg' as const };

/** The statement an uncapped add returns. */
async function added(r: Promise<AddResult>): Promise<Statement> {
  const x = await r;
  if (!x.ok) throw new Error(`refused: ${x.reason}`);
  return x.statement;
}

describe('StatementStore', () => {
  it('adds, lists (open oldest first, handled most recent first), finds by event, and handles once', async () => {
    let t = 1_000;
    const s = await StatementStore.open(':memory:', { now: () => t });
    try {
      const a = await added(
        s.add({ eventId: 'e1', code: 'C1', text: '第一条', photos: [photo], contact: '13900002222' }),
      );
      t = 2_000;
      const b = await added(s.add({ eventId: 'e2', code: 'C2', text: '第二条', photos: [] }));
      t = 3_000;
      const c = await added(s.add({ eventId: 'e1', code: 'C1', text: '第三条', photos: [] }));
      expect(a).toMatchObject({
        eventId: 'e1',
        status: 'open',
        submittedAt: 1_000,
        photos: [photo],
        contact: '13900002222',
      });
      expect(b.contact).toBeUndefined();
      expect(await s.get(a.id)).toEqual(a);
      expect(await s.get('st-none')).toBeNull();
      expect((await s.byEvent('e1')).map((x) => x.id)).toEqual([a.id, c.id]);
      expect((await s.list({ status: 'open', limit: 10 })).items.map((x) => x.text)).toEqual([
        '第一条',
        '第二条',
        '第三条',
      ]);
      expect(await s.list({ status: 'open', limit: 1, offset: 1 })).toMatchObject({ total: 3, items: [{ id: b.id }] });

      t = 4_000;
      const r = await s.handle(b.id, { username: 'li.reviewer', role: 'reviewer' }, '已答复');
      expect(r).toMatchObject({
        ok: true,
        statement: {
          status: 'handled',
          handled: { by: { username: 'li.reviewer', role: 'reviewer' }, at: 4_000, note: '已答复' },
        },
      });
      const again = await s.handle(b.id, { username: 'zhao', role: 'admin' }, '改');
      expect(again).toMatchObject({
        ok: false,
        reason: 'handled',
        statement: { handled: { by: { username: 'li.reviewer' }, note: '已答复' } },
      });
      expect(await s.handle('st-none', { username: 'x', role: 'reviewer' }, 'n')).toEqual({
        ok: false,
        reason: 'not_found',
      });
      t = 5_000;
      await s.handle(a.id, { username: 'li.reviewer', role: 'reviewer' }, '好');
      expect((await s.list({ status: 'handled', limit: 10 })).items.map((x) => x.id)).toEqual([a.id, b.id]);
      expect((await s.list({ status: 'open', limit: 10 })).items.map((x) => x.id)).toEqual([c.id]);
      expect((await s.list({ limit: 10 })).total).toBe(3);
    } finally {
      await s.close();
    }
  });

  it('keeps statements and answers across a restart', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'party-st-'));
    const file = path.join(dir, 'statements.duckdb');
    try {
      const s1 = await StatementStore.open(file);
      const a = await added(s1.add({ eventId: 'e1', code: 'C1', text: '留存', photos: [photo] }));
      await s1.handle(a.id, { username: 'li.reviewer', role: 'reviewer' }, '已阅');
      await s1.close();
      const s2 = await StatementStore.open(file);
      expect(await s2.get(a.id)).toMatchObject({ text: '留存', status: 'handled', handled: { note: '已阅' } });
      await s2.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('query codes as typed', () => {
  it('folds case, separators and look-alike letters; refuses anything that cannot be a code', () => {
    expect(normaliseQueryCode('7k2m-9qxd-4hbt-w3zp')).toBe('7K2M9QXD4HBTW3ZP');
    expect(normaliseQueryCode(' 7K2M 9QXD 4HBT W3ZP ')).toBe('7K2M9QXD4HBTW3ZP');
    expect(normaliseQueryCode('OOOO-IIII-LLLL-0000')).toBe('0000111111110000');
    expect(normaliseQueryCode('７Ｋ２Ｍ–9QXD—4HBT‑W3ZP')).toBe('7K2M9QXD4HBTW3ZP');
    expect(normaliseQueryCode('7K2M9QXD4HBTW3Z')).toBeNull();
    expect(normaliseQueryCode('7K2M9QXD4HBTW3ZU')).toBeNull();
    expect(normaliseQueryCode('../../etc/passwd')).toBeNull();
    expect(normaliseQueryCode('x'.repeat(1000))).toBeNull();
    expect(formatQueryCode('7K2M9QXD4HBTW3ZP')).toBe('7K2M-9QXD-4HBT-W3ZP');
  });
});

describe('ProbeGuard', () => {
  it('delays failures more and more, then refuses until the oldest failure leaves the window', () => {
    let t = 0;
    const g = new ProbeGuard({ max: 4, windowMs: 60_000, delayBaseMs: 250, delayMaxMs: 1000 }, () => t);
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      expect(g.begin('a')).toBe(true);
      delays.push(g.end('a', false));
      t += 1000;
    }
    expect(delays).toEqual([250, 500, 1000, 1000]);
    expect(g.begin('a')).toBe(false);
    // The first failure was at t=0: free again at 60 s.
    expect(g.blockedFor('a')).toBe(60_000 - t);
    expect(g.begin('b')).toBe(true);
    t = 60_001;
    expect(g.begin('a')).toBe(true);
    // A success neither counts nor resets.
    expect(g.end('a', true)).toBe(0);
    expect(g.failures('a')).toBe(3);
  });

  it('counts look-ups in flight, so a burst cannot all slip in before the first failure', () => {
    const g = new ProbeGuard({ max: 3, windowMs: 60_000, delayBaseMs: 0, delayMaxMs: 0 });
    expect([g.begin('a'), g.begin('a'), g.begin('a'), g.begin('a')]).toEqual([true, true, true, false]);
    expect(g.blockedFor('a')).toBe(1000);
    g.end('a', true);
    expect(g.begin('a')).toBe(true);
  });

  it('keeps a bounded number of clients', () => {
    const g = new ProbeGuard({ max: 1, windowMs: 60_000, delayBaseMs: 0, delayMaxMs: 0 }, Date.now, 2);
    for (const k of ['a', 'b', 'c']) {
      g.begin(k);
      g.end(k, false);
    }
    expect(g.failures('a')).toBe(0);
    expect(g.failures('c')).toBe(1);
  });
});

describe('LogThrottle', () => {
  it('logs once per interval per key and reports what it left out', () => {
    let t = 0;
    const l = new LogThrottle(60_000, () => t);
    expect(l.take('x')).toEqual({ log: true, suppressed: 0 });
    expect(l.take('x').log).toBe(false);
    expect(l.take('x').log).toBe(false);
    expect(l.take('y').log).toBe(true);
    t = 60_000;
    expect(l.take('x')).toEqual({ log: true, suppressed: 2 });
  });
});
