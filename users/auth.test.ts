import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../runtime/config.js';
import { silentLogger } from '../runtime/log.js';
import {
  authPlugin,
  closedApiPlugin,
  requireRole,
  ROUTE_ROLES,
  startUsers,
  Users,
  UserStore,
  type Role,
} from './index.js';

// A cheap scrypt cost keeps the tests fast; kdf.test.ts checks the real one.
const KDF = { ln: 10, r: 8, p: 1 };
const HOUR = 3600_000;

function captureLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n'))
        if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

interface Harness {
  app: FastifyInstance;
  users: Users;
  store: UserStore;
  clock: { t: number };
  lines: Record<string, unknown>[];
  /** What the fake alert route changed: nothing may change when access is refused. */
  acks: string[];
}

async function harness(): Promise<Harness> {
  const clock = { t: Date.UTC(2026, 10, 27, 2) };
  const { logger, lines } = captureLogger();
  const store = await UserStore.open(':memory:');
  const users = new Users({ store, logger, kdf: KDF, now: () => clock.t });
  await users.ensureAdmin({ adminPassword: 'admin-secret-1' });
  // trustProxy: the test says "this came over HTTPS" with X-Forwarded-Proto, as a TLS-terminating proxy would.
  const app = Fastify({ trustProxy: true, loggerInstance: logger as FastifyBaseLogger });
  const acks: string[] = [];
  // Stand-ins for the other stages' routes, registered before the plugin (the guard still covers them).
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/api/alerts', async () => ({ items: [] }));
  app.post('/api/alerts/:id/ack', async (req) => {
    acks.push(`${(req.params as { id: string }).id} by ${req.user!.username}`);
    return { ok: true };
  });
  app.get('/api/events', async () => ({ items: [] }));
  app.get('/api/whoami', async (req) => req.user);
  app.post('/api/ingest/nbiot', async () => ({ accepted: true }));
  app.get('/api/custom', { preHandler: requireRole('reviewer') }, async () => ({ ok: true }));
  // A catch-all like the console's static files must not open /api paths.
  app.get('/*', async () => 'static');
  await app.register(authPlugin, {
    users,
    rules: [...ROUTE_ROLES, { prefix: '/api/whoami', roles: 'any' }, { prefix: '/api/custom', roles: 'any' }],
  });
  await app.ready();
  return { app, users, store, clock, lines, acks };
}

async function login(h: Harness, username: string, password: string, headers: Record<string, string> = {}) {
  const r = await h.app.inject({ method: 'POST', url: '/api/session', payload: { username, password }, headers });
  const setCookie = r.headers['set-cookie'] as string | undefined;
  const cookie = setCookie ? setCookie.split(';')[0]! : '';
  return { r, cookie, setCookie };
}

async function addUser(
  h: Harness,
  adminCookie: string,
  username: string,
  role: Role,
  password = `${username}-password`,
) {
  const r = await h.app.inject({
    method: 'POST',
    url: '/api/users',
    headers: { cookie: adminCookie },
    payload: { username, password, role },
  });
  expect(r.statusCode).toBe(201);
  return (await login(h, username, password)).cookie;
}

describe('sessions', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => {
    await h.app.close();
    await h.store.close();
  });

  it('logs in and sets an HttpOnly, SameSite=Strict session cookie; Secure over HTTPS', async () => {
    const { r, setCookie } = await login(h, 'admin', 'admin-secret-1');
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ user: { username: 'admin', role: 'admin', displayName: '管理员 Administrator' } });
    expect(setCookie).toMatch(/^sid=[A-Za-z0-9_-]{43}; /);
    const attrs = setCookie!.split('; ').slice(1);
    expect(attrs).toEqual(expect.arrayContaining(['Path=/', 'HttpOnly', 'SameSite=Strict']));
    expect(attrs).not.toContain('Secure');
    expect(r.headers['cache-control']).toBe('no-store');
    const https = await login(h, 'admin', 'admin-secret-1', { 'x-forwarded-proto': 'https' });
    expect(https.setCookie!.split('; ')).toContain('Secure');
  });

  it('answers a wrong password and an unknown user alike, and logs the failure at warn without the password', async () => {
    const wrong = await login(h, 'admin', 'not-the-password');
    const unknown = await login(h, 'nobody', 'not-the-password');
    expect(wrong.r.statusCode).toBe(401);
    expect(unknown.r.statusCode).toBe(401);
    expect(wrong.r.body).toBe(unknown.r.body);
    expect(wrong.r.json()).toEqual({ error: 'unauthorized', message: '用户名或密码错误 / wrong username or password' });
    expect(wrong.setCookie).toBeUndefined();
    const warns = h.lines.filter((l) => l.level === 40 && l.msg === 'login failed');
    expect(warns.map((w) => [w.username, w.ip])).toEqual([
      ['admin', '127.0.0.1'],
      ['nobody', '127.0.0.1'],
    ]);
    expect(JSON.stringify(h.lines)).not.toContain('not-the-password');
    const audit = await h.store.listAudit();
    expect(
      audit
        .filter((a) => a.action === 'login_failed')
        .map((a) => a.username)
        .sort(),
    ).toEqual(['admin', 'nobody']);
  });

  it('answers 401 on every /api route without a session, except the login and the NB-IoT receiver', async () => {
    for (const [method, url] of [
      ['GET', '/api/alerts'],
      ['POST', '/api/alerts/a1/ack'],
      ['GET', '/api/users'],
      ['GET', '/api/session'],
      ['DELETE', '/api/session'],
      ['GET', '/api/no-such-route'],
      ['GET', '/api'],
    ] as const) {
      const r = await h.app.inject({ method, url });
      expect([url, r.statusCode, r.json()]).toEqual([url, 401, { error: 'unauthorized' }]);
    }
    expect(h.acks).toEqual([]);
    expect((await h.app.inject({ url: '/healthz' })).statusCode).toBe(200);
    expect((await h.app.inject({ url: '/console/index.html' })).body).toBe('static');
    expect((await h.app.inject({ method: 'POST', url: '/api/ingest/nbiot', payload: {} })).statusCode).toBe(200);
    expect(
      (
        await h.app.inject({
          url: '/api/alerts',
          headers: { cookie: 'sid=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
        })
      ).statusCode,
    ).toBe(401);
    expect((await h.app.inject({ url: '/api/alerts', headers: { cookie: 'sid=garbage' } })).statusCode).toBe(401);
  });

  it('decorates the request with the session user', async () => {
    const { cookie } = await login(h, 'admin', 'admin-secret-1');
    const me = (await h.app.inject({ url: '/api/whoami', headers: { cookie } })).json();
    expect(me).toEqual({
      id: expect.any(String),
      username: 'admin',
      role: 'admin',
      displayName: '管理员 Administrator',
    });
    expect(
      (await h.app.inject({ url: '/api/session', headers: { cookie: `theme=dark; ${cookie}` } })).json().user.username,
    ).toBe('admin');
  });

  it('expires a session after 12 h idle, and keeps a used one alive', async () => {
    const { cookie } = await login(h, 'admin', 'admin-secret-1');
    h.clock.t += 11 * HOUR;
    expect((await h.app.inject({ url: '/api/session', headers: { cookie } })).statusCode).toBe(200);
    h.clock.t += 11 * HOUR; // 22 h after login, 11 h after the last request
    expect((await h.app.inject({ url: '/api/session', headers: { cookie } })).statusCode).toBe(200);
    h.clock.t += 12 * HOUR + 1;
    const r = await h.app.inject({ url: '/api/alerts', headers: { cookie } });
    expect(r.statusCode).toBe(401);
    expect(r.json()).toEqual({ error: 'unauthorized' });
    expect((await h.store.listAudit()).some((a) => a.action === 'session_expired')).toBe(true);
  });

  it('logs out: the cookie is cleared and the session no longer works', async () => {
    const { cookie } = await login(h, 'admin', 'admin-secret-1');
    const r = await h.app.inject({ method: 'DELETE', url: '/api/session', headers: { cookie } });
    expect(r.statusCode).toBe(200);
    expect(r.headers['set-cookie']).toMatch(/^sid=; .*Max-Age=0/);
    expect((await h.app.inject({ url: '/api/session', headers: { cookie } })).statusCode).toBe(401);
  });

  it('slows down password guessing per user and per IP address, then lets the user in again', async () => {
    for (let i = 0; i < 5; i++) expect((await login(h, 'admin', `guess-${i}`)).r.statusCode).toBe(401);
    const limited = await login(h, 'admin', 'admin-secret-1');
    expect(limited.r.statusCode).toBe(429);
    expect(limited.r.json().error).toBe('too_many_requests');
    expect(Number(limited.r.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.setCookie).toBeUndefined();
    for (let i = 0; i < 3; i++) expect((await login(h, 'admin', 'admin-secret-1')).r.statusCode).toBe(429);
    // Refused attempts are noted once a minute, not once each.
    expect((await h.store.listAudit()).filter((a) => a.action === 'login_rate_limited')).toHaveLength(1);
    expect(h.lines.filter((l) => l.msg === 'login refused: too many failed attempts')).toHaveLength(1);
    h.clock.t += 15 * 60_000 + 1;
    expect((await login(h, 'admin', 'admin-secret-1')).r.statusCode).toBe(200);
    // Many usernames from one address: the per-IP limit.
    for (let i = 0; i < 20; i++) await login(h, `user${i}`, 'whatever-password', { 'x-forwarded-for': '10.0.0.9' });
    expect((await login(h, 'someone-else', 'whatever-password', { 'x-forwarded-for': '10.0.0.9' })).r.statusCode).toBe(
      429,
    );
    expect((await login(h, 'admin', 'admin-secret-1')).r.statusCode).toBe(200);
  });
});

describe('password guessing', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => {
    await h.app.close();
    await h.store.close();
  });
  const from = (ip: string) => ({ 'x-forwarded-for': ip });
  const checked = () => h.lines.filter((l) => l.msg === 'login failed').length;

  it('40 wrong passwords for admin sent at once from one address: at most 10 are checked, the rest 429; the admin gets in from another address right after', async () => {
    const all = await Promise.all(
      Array.from({ length: 40 }, (_, i) => login(h, 'admin', `guess-${i}`, from('203.0.113.7'))),
    );
    const codes = all.map((a) => a.r.statusCode);
    expect(checked()).toBeLessThanOrEqual(10);
    expect(codes.filter((c) => c === 401)).toHaveLength(checked());
    expect(codes.filter((c) => c === 429)).toHaveLength(40 - checked());
    const admin = await login(h, 'admin', 'admin-secret-1', from('198.51.100.20'));
    expect(admin.r.statusCode).toBe(200);
  });

  it('guesses spread over many addresses are slowed; the admin still gets in from an address that has not failed', async () => {
    // Two addresses use up their five guesses each: the account is under attack.
    for (const ip of ['203.0.113.1', '203.0.113.2']) {
      for (let i = 0; i < 5; i++) expect((await login(h, 'admin', `guess-${i}`, from(ip))).r.statusCode).toBe(401);
    }
    expect(h.users.throttle.underAttack('admin')).toBe(true);
    expect((await login(h, 'admin', 'admin-secret-1', from('203.0.113.1'))).r.statusCode).toBe(429);
    // The owner, from an address that has not failed: in (the old per-username limit refused even this).
    expect((await login(h, 'admin', 'admin-secret-1', from('198.51.100.20'))).r.statusCode).toBe(200);
    // Each new address gets one guess, and the account takes one such check a second.
    h.clock.t += 1000;
    expect((await login(h, 'admin', 'guess-x', from('203.0.113.3'))).r.statusCode).toBe(401);
    const tooSoon = await login(h, 'admin', 'guess-y', from('203.0.113.4'));
    expect(tooSoon.r.statusCode).toBe(429);
    expect(Number(tooSoon.r.headers['retry-after'])).toBe(1);
    h.clock.t += 1000;
    expect((await login(h, 'admin', 'guess-z', from('203.0.113.3'))).r.statusCode).toBe(429);
    expect((await login(h, 'admin', 'guess-z', from('203.0.113.4'))).r.statusCode).toBe(401);
    // An address the admin signed in from is familiar: no wait even now.
    expect((await login(h, 'admin', 'admin-secret-1', from('198.51.100.20'))).r.statusCode).toBe(200);
    h.clock.t += 15 * 60_000;
    expect(h.users.throttle.underAttack('admin')).toBe(false);
    expect((await login(h, 'admin', 'admin-secret-1', from('203.0.113.1'))).r.statusCode).toBe(200);
  });
});

describe('roles and users', () => {
  let h: Harness;
  let admin: string;
  beforeEach(async () => {
    h = await harness();
    admin = (await login(h, 'admin', 'admin-secret-1')).cookie;
  });
  afterEach(async () => {
    await h.app.close();
    await h.store.close();
  });

  it('admin creates users; they log in with their role', async () => {
    const r = await h.app.inject({
      method: 'POST',
      url: '/api/users',
      headers: { cookie: admin },
      payload: { username: 'Wang.Fang', password: 'reviewer-pass', role: 'reviewer', displayName: '王芳' },
    });
    expect(r.statusCode).toBe(201);
    expect(r.json()).toMatchObject({
      username: 'wang.fang',
      role: 'reviewer',
      displayName: '王芳',
      disabled: false,
      createdBy: 'admin',
    });
    expect(r.body).not.toContain('scrypt');
    const { r: l } = await login(h, 'WANG.fang', 'reviewer-pass');
    expect(l.json().user).toEqual({ username: 'wang.fang', role: 'reviewer', displayName: '王芳' });
    const dup = await h.app.inject({
      method: 'POST',
      url: '/api/users',
      headers: { cookie: admin },
      payload: { username: 'wang.fang', password: 'another-pass', role: 'staff' },
    });
    expect(dup.statusCode).toBe(409);
    const bad = await h.app.inject({
      method: 'POST',
      url: '/api/users',
      headers: { cookie: admin },
      payload: { username: 'x', password: 'short', role: 'boss' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/password/);
    const list = (await h.app.inject({ url: '/api/users', headers: { cookie: admin } })).json();
    expect(list.items.map((u: { username: string }) => u.username)).toEqual(['admin', 'wang.fang']);
  });

  it('a reviewer on admin routes gets 403 and nothing changes', async () => {
    const reviewer = await addUser(h, admin, 'li.na', 'reviewer');
    const staff = await addUser(h, admin, 'zhao.lei', 'staff');
    const before = (await h.app.inject({ url: '/api/users', headers: { cookie: admin } })).json();
    for (const req of [
      { method: 'GET' as const, url: '/api/users' },
      {
        method: 'POST' as const,
        url: '/api/users',
        payload: { username: 'mallory', password: 'mallory-pass', role: 'admin' },
      },
      { method: 'PATCH' as const, url: '/api/users/zhao.lei', payload: { role: 'admin' } },
      { method: 'PATCH' as const, url: '/api/users/li.na', payload: { role: 'admin' } },
      {
        method: 'PATCH' as const,
        url: '/api/users/admin',
        payload: { password: 'taken-over-1', currentPassword: 'x' },
      },
      { method: 'GET' as const, url: '/api/%75sers' },
    ]) {
      const r = await h.app.inject({ ...req, headers: { cookie: reviewer } });
      expect([req.method, req.url, r.statusCode, r.json().error]).toEqual([req.method, req.url, 403, 'forbidden']);
    }
    expect((await h.app.inject({ url: '/api/users', headers: { cookie: admin } })).json()).toEqual(before);
    expect((await login(h, 'admin', 'admin-secret-1')).r.statusCode).toBe(200);
    // Staff routes and reviewer routes are apart.
    expect((await h.app.inject({ url: '/api/alerts', headers: { cookie: reviewer } })).statusCode).toBe(403);
    expect(
      (await h.app.inject({ method: 'POST', url: '/api/alerts/a1/ack', headers: { cookie: reviewer } })).statusCode,
    ).toBe(403);
    expect(h.acks).toEqual([]);
    expect(
      (await h.app.inject({ method: 'POST', url: '/api/alerts/a1/ack', headers: { cookie: staff } })).statusCode,
    ).toBe(200);
    expect(h.acks).toEqual(['a1 by zhao.lei']);
    expect((await h.app.inject({ url: '/api/events', headers: { cookie: staff } })).statusCode).toBe(403);
    expect((await h.app.inject({ url: '/api/events', headers: { cookie: reviewer } })).statusCode).toBe(200);
    expect((await h.app.inject({ url: '/api/events', headers: { cookie: admin } })).statusCode).toBe(200);
    // A route no rule names is for admins only; requireRole() narrows a route further.
    expect((await h.app.inject({ url: '/api/no-rule', headers: { cookie: staff } })).statusCode).toBe(403);
    expect((await h.app.inject({ url: '/api/custom', headers: { cookie: staff } })).statusCode).toBe(403);
    expect((await h.app.inject({ url: '/api/custom', headers: { cookie: reviewer } })).statusCode).toBe(200);
    expect(h.lines.some((l) => l.msg === 'forbidden' && l.username === 'li.na')).toBe(true);
  });

  it('everyone changes their own password with the current one; other sessions end', async () => {
    await addUser(h, admin, 'chen.jie', 'staff', 'first-password');
    const s1 = (await login(h, 'chen.jie', 'first-password')).cookie;
    const s2 = (await login(h, 'chen.jie', 'first-password')).cookie;
    const patch = (cookie: string, payload: object) =>
      h.app.inject({ method: 'PATCH', url: '/api/users/chen.jie', headers: { cookie }, payload });
    expect((await patch(s1, { password: 'second-password' })).statusCode).toBe(400);
    expect((await patch(s1, { password: 'second-password', currentPassword: 'wrong-one' })).statusCode).toBe(403);
    expect((await patch(s1, { role: 'admin' })).statusCode).toBe(403);
    const ok = await patch(s1, { password: 'second-password', currentPassword: 'first-password' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ username: 'chen.jie', role: 'staff', updatedBy: 'chen.jie' });
    expect((await h.app.inject({ url: '/api/session', headers: { cookie: s1 } })).statusCode).toBe(200);
    expect((await h.app.inject({ url: '/api/session', headers: { cookie: s2 } })).statusCode).toBe(401);
    expect((await login(h, 'chen.jie', 'first-password')).r.statusCode).toBe(401);
    expect((await login(h, 'chen.jie', 'second-password')).r.statusCode).toBe(200);
    expect(
      (await h.store.listAudit()).some(
        (a) => a.action === 'password_changed' && a.username === 'chen.jie' && a.by === 'chen.jie',
      ),
    ).toBe(true);
  });

  it('admin changes roles, resets passwords and disables users; the last admin stays', async () => {
    const staff = await addUser(h, admin, 'sun.li', 'staff');
    const patch = (username: string, payload: object) =>
      h.app.inject({ method: 'PATCH', url: `/api/users/${username}`, headers: { cookie: admin }, payload });
    expect((await patch('sun.li', { role: 'reviewer' })).json().role).toBe('reviewer');
    // The role comes from the database on every request: the open session has the new role at once.
    expect((await h.app.inject({ url: '/api/events', headers: { cookie: staff } })).statusCode).toBe(200);
    expect((await patch('sun.li', { disabled: true })).json().disabled).toBe(true);
    expect((await h.app.inject({ url: '/api/session', headers: { cookie: staff } })).statusCode).toBe(401);
    expect((await login(h, 'sun.li', 'sun.li-password')).r.statusCode).toBe(401);
    expect((await patch('admin', { role: 'staff' })).statusCode).toBe(409);
    expect((await patch('admin', { disabled: true })).statusCode).toBe(409);
    expect((await patch('nobody', { role: 'staff' })).statusCode).toBe(404);
  });
});

describe('first start and ADMIN_PASSWORD', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'users-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('prints a generated admin password once, on the first start only', async () => {
    const printed: string[] = [];
    const { logger, lines } = captureLogger();
    const first = await startUsers({ dataDir: dir, logger, kdf: KDF, print: (l) => printed.push(l) });
    await first.close();
    expect(printed).toHaveLength(1);
    const password = /密码 (\S+) /.exec(printed[0]!)![1]!;
    expect(printed[0]).toContain(`with password ${password}`);
    expect(printed[0]).toMatch(/首次启动.*First start/);
    expect(JSON.stringify(lines)).not.toContain(password);
    const second = await startUsers({ dataDir: dir, logger, kdf: KDF, print: (l) => printed.push(l) });
    expect(printed).toHaveLength(1);
    expect((await second.users.login('admin', password, '127.0.0.1')).ok).toBe(true);
    await second.close();
  });

  it('ADMIN_PASSWORD sets the admin password on the first start only; later starts warn and change nothing', async () => {
    const printed: string[] = [];
    const a = await startUsers({
      dataDir: dir,
      logger: silentLogger,
      kdf: KDF,
      adminPassword: 'first-admin-pw',
      print: (l) => printed.push(l),
    });
    expect((await a.users.login('admin', 'first-admin-pw', '127.0.0.1')).ok).toBe(true);
    // The admin changes the password and, with a second admin, is disabled.
    const by = { user: { id: 'x', username: 'admin', role: 'admin' as const, displayName: 'admin' }, ip: '127.0.0.1' };
    expect(
      (await a.users.update('admin', { password: 'changed-admin-pw', currentPassword: 'first-admin-pw' }, by)).ok,
    ).toBe(true);
    await a.users.create(
      { username: 'second.admin', password: 'second-admin-pw', role: 'admin' },
      'admin',
      '127.0.0.1',
    );
    expect(
      (await a.users.update('admin', { disabled: true }, { ...by, user: { ...by.user, username: 'second.admin' } })).ok,
    ).toBe(true);
    await a.close();
    const { logger, lines } = captureLogger();
    const b = await startUsers({
      dataDir: dir,
      logger,
      kdf: KDF,
      adminPassword: 'first-admin-pw',
      print: (l) => printed.push(l),
    });
    const admin = await b.users.store.getByUsername('admin');
    expect(admin!.disabled).toBe(true);
    await b.users.update('admin', { disabled: false }, { ...by, user: { ...by.user, username: 'second.admin' } });
    expect((await b.users.login('admin', 'first-admin-pw', '10.0.0.1')).ok).toBe(false);
    expect((await b.users.login('admin', 'changed-admin-pw', '10.0.0.2')).ok).toBe(true);
    const warn = lines.find((l) => l.level === 40 && /ADMIN_PASSWORD is set but NOT applied/.test(String(l.msg)));
    expect(warn).toBeDefined();
    expect(JSON.stringify(lines)).not.toContain('first-admin-pw');
    await b.close();
    expect(printed).toEqual([]);
    await expect(startUsers({ dataDir: dir, logger: silentLogger, kdf: KDF, adminPassword: 'short' })).rejects.toThrow(
      ConfigError,
    );
  });

  it('reset-admin gives a lost admin a new password, enables it and ends its sessions', async () => {
    const a = await startUsers({ dataDir: dir, logger: silentLogger, kdf: KDF, adminPassword: 'first-admin-pw' });
    const before = await a.users.login('admin', 'first-admin-pw', '127.0.0.1');
    expect(before.ok).toBe(true);
    const password = await a.users.resetAdmin();
    expect((await a.users.login('admin', 'first-admin-pw', '127.0.0.1')).ok).toBe(false);
    expect((await a.users.login('admin', password, '127.0.0.1')).ok).toBe(true);
    expect(await a.users.authenticate(before.ok ? before.token : '')).toBeNull();
    expect(
      (await a.users.store.listAudit()).some((e) => e.action === 'admin_password_set' && e.detail === 'reset-admin'),
    ).toBe(true);
    await a.close();
  });
});

describe('closedApiPlugin', () => {
  it('closes every /api route of a process without the users database', async () => {
    const app = Fastify();
    app.get('/healthz', async () => ({ status: 'ok' }));
    app.get('/api/readings', async () => ({ readings: [] }));
    app.post('/api/ingest/nbiot', async () => ({ accepted: true }));
    await app.register(closedApiPlugin, {});
    expect((await app.inject({ url: '/api/readings' })).statusCode).toBe(401);
    expect((await app.inject({ url: '/api/no-such-route' })).statusCode).toBe(401);
    expect((await app.inject({ url: '/no-such-page' })).statusCode).toBe(404);
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/api/ingest/nbiot', payload: {} })).statusCode).toBe(200);
    await app.close();
  });
});
