// The console's server side without a browser: the device directory (bus → online/offline, snapshot across a
// restart), GET /api/devices and /api/rules, the static file plugin, and the label dictionaries.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { AlertManager } from '../alerts/manager.js';
import { DuckDbAlertStore } from '../alerts/store.js';
import { MemoryBus } from '../bus/memory.js';
import { silentLogger } from '../runtime/log.js';
import { DeviceDirectory, deviceRoutes } from './devices-route.js';
import { consolePlugin } from './plugin.js';
import { rulesForDevice, rulesRoutes } from './rules-route.js';
import { loadRules } from '../analytics/service.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'city-console-'));
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const reading = (deviceId: string, district = 'xinhua', kind = 'noise') => ({
  key: deviceId,
  value: JSON.stringify({ deviceId, district, kind, ts: Date.now(), metrics: { laeq_db: 55 } }),
});
const status = (deviceId: string, online: boolean, district = 'xinhua', kind = 'noise') => ({
  key: deviceId,
  value: JSON.stringify({
    deviceId,
    district,
    kind,
    online,
    reason: online ? undefined : 'connection lost',
    receivedAt: Date.now(),
  }),
});

// The memory bus hands batches to consumers asynchronously.
const settle = async (_bus: MemoryBus) => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 5));
};

describe('DeviceDirectory', () => {
  it('lists devices heard on the bus; a last will marks one offline until it reports again; silence too', async () => {
    const bus = new MemoryBus();
    let now = Date.now();
    const dir = await DeviceDirectory.start({ bus, logger: silentLogger, offlineAfterMs: 60_000, now: () => now });
    cleanups.push(
      () => bus.close(),
      () => dir.close(),
    );
    await bus.publish('readings', [reading('nz-1'), reading('mh-1', 'jinghai', 'manhole'), reading('nz-1')]);
    await settle(bus);
    expect(dir.list().map((d) => [d.deviceId, d.district, d.kind, d.online])).toEqual([
      ['mh-1', 'jinghai', 'manhole', true],
      ['nz-1', 'xinhua', 'noise', true],
    ]);
    await bus.publish('status', [status('mh-1', false, 'jinghai', 'manhole')]);
    await settle(bus);
    expect(dir.get('mh-1')).toMatchObject({ online: false, offlineReason: 'status' });
    await bus.publish('readings', [reading('mh-1', 'jinghai', 'manhole')]);
    await settle(bus);
    expect(dir.get('mh-1')).toMatchObject({ online: true });
    expect(dir.get('mh-1')!.offlineReason).toBeUndefined();
    now += 61_000;
    expect(dir.get('nz-1')).toMatchObject({ online: false, offlineReason: 'silent' });
    // Malformed messages are skipped, not fatal.
    await bus.publish('readings', [{ key: 'x', value: 'not json' }]);
    await settle(bus);
    expect(dir.list()).toHaveLength(2);
  });

  it('counts open alerts per device, an open offline alert marks it offline, and alert-only devices are listed', async () => {
    const bus = new MemoryBus();
    const d = tmp();
    const alertStore = await DuckDbAlertStore.open(path.join(d, 'alerts.duckdb'));
    const alerts = new AlertManager(alertStore);
    const base = {
      category: 'threshold' as const,
      name: { zh: '告警', en: 'alert' },
      district: 'xinhua',
      kind: 'noise' as const,
      metric: 'laeq_db',
      severity: 'warning' as const,
      value: 75,
      level: 70,
      standard: 'x',
      caseWorthy: false,
    };
    // An alert from before the directory started names a device that has not reported since.
    await alerts.handle({
      ...base,
      type: 'fire',
      ruleId: 'noise.gb3096.class2',
      deviceId: 'nz-old',
      ts: Date.now() - 1000,
    });
    const dir = await DeviceDirectory.start({ bus, logger: silentLogger, alerts });
    cleanups.push(
      () => bus.close(),
      () => dir.close(),
      () => alertStore.close(),
    );
    expect(dir.get('nz-old')).toMatchObject({
      online: false,
      offlineReason: 'never-seen',
      openAlerts: 1,
      lastSeen: null,
    });
    await bus.publish('readings', [reading('nz-2')]);
    await settle(bus);
    const off = await alerts.handle({
      ...base,
      type: 'fire',
      category: 'health',
      ruleId: 'health.offline',
      severity: 'major',
      deviceId: 'nz-2',
      ts: Date.now(),
    });
    expect(dir.get('nz-2')).toMatchObject({ online: false, offlineReason: 'alert', openAlerts: 1 });
    await alerts.resolve(off!.id, 'wang.li');
    expect(dir.get('nz-2')).toMatchObject({ online: true, openAlerts: 0 });
  });

  it('keeps the list in a snapshot across a restart; a damaged snapshot starts empty', async () => {
    const d = tmp();
    const file = path.join(d, 'devices.json');
    const bus = new MemoryBus();
    cleanups.push(() => bus.close());
    const first = await DeviceDirectory.start({ bus, logger: silentLogger, snapshotFile: file });
    await bus.publish('readings', [reading('nz-1'), reading('dr-1', 'jinghai', 'drainage')]);
    await settle(bus);
    await first.close();
    const second = await DeviceDirectory.start({ bus: new MemoryBus(), logger: silentLogger, snapshotFile: file });
    cleanups.push(() => second.close());
    expect(second.list().map((x) => [x.deviceId, x.kind, x.online])).toEqual([
      ['dr-1', 'drainage', true],
      ['nz-1', 'noise', true],
    ]);
    fs.writeFileSync(file, '{"version":1,"devices":[{"deviceId":"a b"}]}');
    const third = await DeviceDirectory.start({ bus: new MemoryBus(), logger: silentLogger, snapshotFile: file });
    cleanups.push(() => third.close());
    expect(third.list()).toEqual([]);
  });
});

async function app(register: (a: FastifyInstance) => Promise<void>): Promise<FastifyInstance> {
  const a = Fastify();
  await register(a);
  await a.ready();
  cleanups.push(() => a.close());
  return a;
}

describe('GET /api/devices', () => {
  it('filters by district, kind and status; refuses a bad filter', async () => {
    const bus = new MemoryBus();
    const dir = await DeviceDirectory.start({ bus, logger: silentLogger });
    cleanups.push(
      () => bus.close(),
      () => dir.close(),
    );
    await bus.publish('readings', [reading('nz-1'), reading('mh-1', 'jinghai', 'manhole')]);
    await bus.publish('status', [status('mh-1', false, 'jinghai', 'manhole')]);
    await settle(bus);
    const a = await app((x) => deviceRoutes(x, { directory: dir }));
    const all = (await a.inject('/api/devices')).json() as { deviceId: string; online: boolean; lastSeen: string }[];
    expect(all.map((d) => d.deviceId)).toEqual(['mh-1', 'nz-1']);
    expect(Date.parse(all[1]!.lastSeen)).toBeGreaterThan(Date.now() - 60_000);
    expect((await a.inject('/api/devices?district=xinhua')).json()).toHaveLength(1);
    expect(
      ((await a.inject('/api/devices?online=false')).json() as { deviceId: string }[]).map((d) => d.deviceId),
    ).toEqual(['mh-1']);
    expect(
      ((await a.inject('/api/devices?kind=manhole')).json() as { deviceId: string }[]).map((d) => d.deviceId),
    ).toEqual(['mh-1']);
    const bad = await a.inject('/api/devices?kind=lamp');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/kind/);
  });
});

describe('GET /api/rules', () => {
  const shipped = path.resolve(import.meta.dirname, '../config/rules.json');

  it('chooses the rules of a device as the detectors do: a group rule replaces the ungrouped one for its metric', () => {
    const file = loadRules(shipped);
    const street = rulesForDevice(file, { deviceId: 'nz-xinhua-001', district: 'xinhua', kind: 'noise' }).map(
      (r) => r.id,
    );
    expect(street).toContain('noise.gb3096.class4a');
    expect(street).toContain('noise.gb3096.class4a.night-lmax');
    expect(street).not.toContain('noise.gb3096.class2');
    expect(street).not.toContain('noise.gb3096.night-lmax');
    const other = rulesForDevice(file, { deviceId: 'meter-9', district: 'xinhua', kind: 'noise' }).map((r) => r.id);
    expect(other).toEqual(['noise.gb3096.class2', 'noise.gb3096.night-lmax']);
  });

  it("serves the rules file and a device's rules; re-reads the file when it changes; keeps the last good one", async () => {
    const d = tmp();
    const file = path.join(d, 'rules.json');
    fs.copyFileSync(shipped, file);
    const a = await app((x) => rulesRoutes(x, { rulesFile: file, logger: silentLogger }));
    const all = (await a.inject('/api/rules')).json() as {
      timezone: string;
      day: { start: string };
      rules: { id: string }[];
    };
    expect(all.timezone).toBe('Asia/Shanghai');
    expect(all.day.start).toBe('06:00');
    expect(all.rules.length).toBeGreaterThan(10);
    const mine = (await a.inject('/api/rules?device=nz-xinhua-001&district=xinhua&kind=noise')).json() as {
      rules: { id: string }[];
    };
    expect(mine.rules.map((r) => r.id)).toContain('noise.gb3096.class4a');
    expect((await a.inject('/api/rules?kind=fume')).json().rules.map((r: { id: string }) => r.id)).toEqual([
      'fume.gb18483',
      'fume.purifier-off',
    ]);
    expect((await a.inject('/api/rules?device=nz-1')).statusCode).toBe(400);

    const edited = JSON.parse(fs.readFileSync(shipped, 'utf8')) as { rules: { id: string }[] };
    edited.rules = edited.rules.filter((r) => !r.id.startsWith('fume.'));
    fs.writeFileSync(file, JSON.stringify(edited));
    fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
    expect((await a.inject('/api/rules?kind=fume')).json().rules).toEqual([]);
    fs.writeFileSync(file, '{ broken');
    fs.utimesSync(file, new Date(), new Date(Date.now() + 10_000));
    expect((await a.inject('/api/rules?kind=fume')).statusCode).toBe(200);
  });
});

describe('consolePlugin', () => {
  it('serves the page at / with a strict CSP, assets with ETag, gzip and 304; nothing outside its files', async () => {
    const a = await app(async (x) => {
      await x.register(consolePlugin);
    });
    const page = await a.inject('/');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.headers['x-frame-options']).toBe('DENY');
    const css = await a.inject({ url: '/console/style.css', headers: { 'accept-encoding': 'gzip, br' } });
    expect(css.headers['content-encoding']).toBe('gzip');
    expect(css.headers['content-type']).toMatch(/^text\/css/);
    expect(
      (await a.inject({ url: '/console/style.css', headers: { 'if-none-match': String(css.headers.etag) } }))
        .statusCode,
    ).toBe(304);
    expect((await a.inject('/console/pages/review.js')).headers['content-type']).toMatch(/javascript/);
    expect((await a.inject('/console/../console.test.ts')).statusCode).toBe(404);
    expect((await a.inject('/console/%2e%2e/plugin.ts')).statusCode).toBe(404);
    expect((await a.inject('/console/')).statusCode).toBe(302);
  });

  it('refuses to start without its assets, with a clear message', async () => {
    const a = Fastify();
    cleanups.push(() => a.close());
    await expect(a.register(consolePlugin, { assetsDir: tmp() }).ready()).rejects.toThrow(/console assets not found/);
  });
});

describe('labels', () => {
  it('has every key in both languages, and every key the pages use', async () => {
    // The browser module, loaded as it is (no build step); it needs no DOM to load.
    const { DICTIONARIES } = (await import(pathToFileURL(path.join(import.meta.dirname, 'public/i18n.js')).href)) as {
      DICTIONARIES: Record<string, Record<string, string>>;
    };
    const zh = Object.keys(DICTIONARIES['zh-CN']!).sort();
    const en = Object.keys(DICTIONARIES.en!).sort();
    expect(en).toEqual(zh);
    const pub = path.join(import.meta.dirname, 'public');
    const files = [
      ...fs.readdirSync(pub).map((f) => path.join(pub, f)),
      ...fs.readdirSync(path.join(pub, 'pages')).map((f) => path.join(pub, 'pages', f)),
    ].filter((f) => f.endsWith('.js'));
    const used = new Set<string>();
    for (const f of files)
      for (const m of fs.readFileSync(f, 'utf8').matchAll(/\bt\('([a-zA-Z0-9_-]+\.[a-zA-Z0-9_.-]+)'/g)) used.add(m[1]!);
    expect([...used].filter((k) => !zh.includes(k))).toEqual([]);
  });
});
