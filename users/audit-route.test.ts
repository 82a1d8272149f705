// The audit trail for admins over the real users' store and the real review store: filters, the review decisions
// merged in, CSV, and refused to every role but admin.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStore } from '../review/store.js';
import { EvidenceStore } from '../vision/evidence/store.js';
import { simulatedEvents } from '../test/console-fixtures.js';
import { auditRoutes } from './audit-route.js';
import { authPlugin, Users, UserStore } from './index.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('GET /api/audit', () => {
  it('lists logins, changes and review decisions newest first, filtered by action, user and period, and as CSV; admins only', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-'));
    const store = await UserStore.open(':memory:');
    const users = new Users({ store, logger: pino({ level: 'silent' }), kdf: { ln: 10, r: 8, p: 1 } });
    await users.ensureAdmin({ adminPassword: 'admin-secret-1' });
    const events = await EventStore.open(path.join(dir, 'events.duckdb'));
    const t0 = Date.parse('2026-11-27T02:00:00Z');
    const [e] = await simulatedEvents(new EvidenceStore(path.join(dir, 'evidence')), t0 - 3_600_000);
    await events.add([e!]);
    await events.decide(e!.id, {
      decision: 'reject',
      reason: 'false-detection',
      note: 'delivery',
      by: { username: 'li.reviewer', role: 'reviewer' },
      at: t0 + 60_000,
    });
    await store.audit({
      ts: t0,
      action: 'device_created',
      username: 'nz-1',
      by: 'admin',
      ip: '10.0.0.2',
      detail: '=cmd|noise xinhua',
    });
    await store.audit({
      ts: t0 + 120_000,
      action: 'device_updated',
      username: 'nz-1',
      by: 'wang.admin',
      ip: '10.0.0.3',
      detail: 'status active → maintenance',
    });
    const app = Fastify();
    await app.register(auditRoutes, { list: (l, f) => store.listAudit(l, f), decisions: (q) => events.list(q) });
    await app.register(authPlugin, { users });
    await app.ready();
    cleanups.push(
      () => app.close(),
      () => events.close(),
      () => store.close(),
      () => fs.rmSync(dir, { recursive: true, force: true }),
    );
    const login = async (username: string, password: string) =>
      (
        (await app.inject({ method: 'POST', url: '/api/session', payload: { username, password } })).headers[
          'set-cookie'
        ] as string
      ).split(';')[0]!;
    const cookie = await login('admin', 'admin-secret-1');
    const get = async (url: string) =>
      (await app.inject({ url, headers: { cookie } })).json().items as {
        ts: string;
        action: string;
        subject: string;
        by: string;
        detail: string;
      }[];

    const period = `from=${encodeURIComponent('2026-11-27T01:00:00Z')}&to=${encodeURIComponent('2026-11-27T03:00:00Z')}`;
    expect((await get(`/api/audit?${period}`)).map((l) => l.action)).toEqual([
      'device_updated',
      'review_reject',
      'device_created',
    ]);
    expect((await get(`/api/audit?${period}&action=review_reject`))[0]).toMatchObject({
      subject: e!.id,
      by: 'li.reviewer',
      ts: new Date(t0 + 60_000).toISOString(),
    });
    expect((await get('/api/audit?user=wang.admin')).map((l) => l.action)).toEqual(['device_updated']);
    // The admin's own login is in the trail too (outside the period above).
    expect((await get('/api/audit?action=login')).map((l) => l.subject)).toEqual(['admin']);

    const csv = await app.inject({ url: `/api/audit.csv?${period}`, headers: { cookie } });
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    const lines = csv.body
      .replace(/^\uFEFF/, '')
      .trim()
      .split('\r\n');
    expect(lines[0]).toBe('ts,action,subject,by,ip,detail');
    expect(lines).toHaveLength(4);
    expect(lines[3]).toContain(`'=cmd|noise xinhua`);
    expect((await app.inject({ url: '/api/audit?from=yesterday', headers: { cookie } })).statusCode).toBe(400);

    await app.inject({
      method: 'POST',
      url: '/api/users',
      headers: { cookie },
      payload: { username: 'staff1', password: 'staff1-password', role: 'staff' },
    });
    const staff = await login('staff1', 'staff1-password');
    expect((await app.inject({ url: '/api/audit', headers: { cookie: staff } })).statusCode).toBe(403);
    expect((await app.inject({ url: '/api/audit.csv', headers: { cookie: staff } })).statusCode).toBe(403);
  });
});
