// The registry's API through the real users' guard and sessions, the real bus directory and the real credentials
// file: register, change, CSV round trip, unregistered → adopt, credentials, audit, and the place alerts carry.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBus } from '../bus/memory.js';
import { DeviceDirectory, deviceRoutes } from '../console/devices-route.js';
import { authPlugin, Users, UserStore } from '../users/index.js';
import { readCredentialsFile } from '../broker/auth.js';
import { startDeviceRegistry } from './index.js';
import { DuckDbStore } from '../store/duckdb/store.js';
import { simulatedCameras } from '../app/camera-feed.js';
import { csvToInputs, devicesToCsv } from './csv.js';

const logger = pino({ level: 'silent' });
const GEO = path.resolve(import.meta.dirname, '../config/geo');
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function harness() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devices-'));
  const store = await UserStore.open(':memory:');
  const users = new Users({ store, logger, kdf: { ln: 10, r: 8, p: 1 } });
  await users.ensureAdmin({ adminPassword: 'admin-secret-1' });
  const bus = new MemoryBus();
  const directory = await DeviceDirectory.start({ bus, logger });
  const devices = await startDeviceRegistry({
    file: path.join(dir, 'device-registry.json'),
    districtsFile: path.join(GEO, 'districts.geojson'),
    gridFile: path.join(GEO, 'grid.geojson'),
    demo: null,
    logger,
  });
  const credFile = path.join(dir, 'mqtt-credentials.json');
  const app: FastifyInstance = Fastify();
  await app.register(deviceRoutes, { directory, registry: devices.registry });
  await app.register(devices.routes, {
    audit: (e) => store.audit(e),
    mqttCredentialsFile: credFile,
    tileUrl: null,
    tileAttribution: '',
  });
  await app.register(authPlugin, { users });
  await app.ready();
  cleanups.push(
    () => app.close(),
    () => directory.close(),
    () => bus.close(),
    () => store.close(),
    () => fs.rmSync(dir, { recursive: true, force: true }),
  );
  const r = await app.inject({
    method: 'POST',
    url: '/api/session',
    payload: { username: 'admin', password: 'admin-secret-1' },
  });
  const cookie = (r.headers['set-cookie'] as string).split(';')[0]!;
  return { app, bus, cookie, store, devices, dir, credFile };
}

const meter = {
  id: 'nz-test-001',
  kind: 'noise',
  district: 'xinhua',
  location: { lat: 31.8612, lon: 120.5234 },
  address: '新华路12号, "东" 侧',
  site: { name: '港城花园三期工地', party: '=苏州港城建设', contact: '0512-1' },
  installedAt: '2026-11-01',
};

describe('device registry API', () => {
  it('registers a device with the grid cell its location lies in, refuses bad input and a second registration, and audits', async () => {
    const h = await harness();
    const created = await h.app.inject({
      method: 'POST',
      url: '/api/devices',
      headers: { cookie: h.cookie },
      payload: meter,
    });
    expect(created.statusCode).toBe(201);
    // 31.8612, 120.5234 lies in row 2, column 3 of the demo's xinhua grid.
    expect(created.json()).toMatchObject({
      id: 'nz-test-001',
      gridCell: '320582001002003',
      status: 'active',
      createdBy: 'admin',
    });
    const again = await h.app.inject({
      method: 'POST',
      url: '/api/devices',
      headers: { cookie: h.cookie },
      payload: meter,
    });
    expect(again.statusCode).toBe(409);
    const bad = await h.app.inject({
      method: 'POST',
      url: '/api/devices',
      headers: { cookie: h.cookie },
      payload: { ...meter, id: 'x-1', gridCell: '1234', location: { lat: 95, lon: 0 } },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/gridCell.*15 digits/);
    expect(bad.json().message).toMatch(/location\.lat/);
    const outside = await h.app.inject({
      method: 'POST',
      url: '/api/devices',
      headers: { cookie: h.cookie },
      payload: { ...meter, id: 'x-2', location: { lat: 40, lon: 116 } },
    });
    expect(outside.statusCode).toBe(400);
    expect(outside.json().message).toMatch(/none of the city's grid cells/);

    const put = await h.app.inject({
      method: 'PUT',
      url: '/api/devices/nz-test-001',
      headers: { cookie: h.cookie },
      payload: { ...meter, id: undefined, status: 'maintenance' },
    });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({ status: 'maintenance', createdAt: created.json().createdAt });
    expect(
      (await h.app.inject({ method: 'PUT', url: '/api/devices/none', headers: { cookie: h.cookie }, payload: meter }))
        .statusCode,
    ).toBe(404);

    const list = (await h.app.inject({ url: '/api/devices', headers: { cookie: h.cookie } })).json();
    expect(list).toEqual([
      expect.objectContaining({
        id: 'nz-test-001',
        deviceId: 'nz-test-001',
        kind: 'noise',
        district: 'xinhua',
        location: meter.location,
        gridCell: '320582001002003',
        address: meter.address,
        site: meter.site,
        status: 'maintenance',
        online: false,
      }),
    ]);
    const audit = await h.store.listAudit(10);
    expect(audit.map((a) => a.action).slice(0, 2)).toEqual(['device_updated', 'device_created']);
    expect(audit[0]).toMatchObject({ username: 'nz-test-001', by: 'admin', detail: 'status active → maintenance' });
    // Kept on disk: a new registry over the same file has it.
    expect(JSON.parse(fs.readFileSync(path.join(h.dir, 'device-registry.json'), 'utf8')).devices).toHaveLength(1);
  });

  it('exports the registry as CSV and imports it back unchanged; a bad row imports nothing', async () => {
    const h = await harness();
    await h.app.inject({ method: 'POST', url: '/api/devices', headers: { cookie: h.cookie }, payload: meter });
    await h.app.inject({
      method: 'POST',
      url: '/api/devices',
      headers: { cookie: h.cookie },
      payload: {
        id: 'mh-test-002',
        kind: 'manhole',
        district: 'jinghai',
        location: { lat: 31.87, lon: 120.57 },
        gridCell: '320582002003003',
      },
    });
    const csv = await h.app.inject({ url: '/api/devices/registry.csv', headers: { cookie: h.cookie } });
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    // Text that a spreadsheet would run as a formula is written with an apostrophe; quotes and commas are quoted.
    expect(csv.body).toContain(`"新华路12号, ""东"" 侧"`);
    expect(csv.body).toContain(`'=苏州港城建设`);
    const before = h.devices.registry.list();
    const back = await h.app.inject({
      method: 'POST',
      url: '/api/devices/registry.csv',
      headers: { cookie: h.cookie, 'content-type': 'text/csv' },
      payload: csv.body,
    });
    expect(back.json()).toEqual({ created: 0, updated: 2 });
    const strip = (ds: typeof before) => ds.map(({ updatedAt: _u, updatedBy: _b, ...d }) => d);
    expect(strip(h.devices.registry.list())).toEqual(strip(before));
    expect(csvToInputs(devicesToCsv(before)).map((r) => r.input.site)).toEqual(before.map((d) => d.site));

    const broken = `${csv.body}nz-new-1,noise,xinhua,31.86,120.52,,,,,,,,,active\nbad,lamp,xinhua,31.86,120.52,,,,,,,,,active\n`;
    const refused = await h.app.inject({
      method: 'POST',
      url: '/api/devices/registry.csv',
      headers: { cookie: h.cookie, 'content-type': 'text/csv' },
      payload: broken,
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().message).toMatch(/line 5: kind/);
    expect(h.devices.registry.get('nz-new-1')).toBeUndefined();
  });

  it('lists a device that publishes unregistered, which an admin adopts with a place and MQTT credentials', async () => {
    const h = await harness();
    await h.bus.publish('readings', [
      {
        key: 'nz-stray-9',
        value: Buffer.from(
          JSON.stringify({
            deviceId: 'nz-stray-9',
            district: 'jinghai',
            kind: 'noise',
            ts: Date.now(),
            metrics: { laeq_db: 60 },
          }),
        ),
      },
    ]);
    await expect
      .poll(async () =>
        (await h.app.inject({ url: '/api/devices?status=unregistered', headers: { cookie: h.cookie } })).json(),
      )
      .toEqual([
        expect.objectContaining({
          id: 'nz-stray-9',
          status: 'unregistered',
          location: null,
          gridCell: null,
          online: true,
        }),
      ]);
    const adopt = await h.app.inject({
      method: 'POST',
      url: '/api/devices',
      headers: { cookie: h.cookie },
      payload: { id: 'nz-stray-9', kind: 'noise', district: 'jinghai', location: { lat: 31.875, lon: 120.585 } },
    });
    expect(adopt.statusCode).toBe(201);
    expect(
      (await h.app.inject({ url: '/api/devices?status=unregistered', headers: { cookie: h.cookie } })).json(),
    ).toEqual([]);
    expect((await h.app.inject({ url: '/api/devices', headers: { cookie: h.cookie } })).json()).toEqual([
      expect.objectContaining({ id: 'nz-stray-9', status: 'active', gridCell: '320582002003004', online: true }),
    ]);
    const cred = await h.app.inject({
      method: 'POST',
      url: '/api/devices/nz-stray-9/credentials',
      headers: { cookie: h.cookie },
    });
    expect(cred.json()).toMatchObject({ username: 'nz-stray-9', topic: 'city/v1/jinghai/noise/nz-stray-9/readings' });
    expect(cred.json().password).toMatch(/.{40,}/);
    const acct = readCredentialsFile(h.credFile).accounts.find((a) => a.username === 'nz-stray-9');
    expect(acct).toMatchObject({ type: 'device', deviceId: 'nz-stray-9', district: 'jinghai', kind: 'noise' });
    expect(JSON.stringify(acct)).not.toContain(cred.json().password);
    expect((await h.store.listAudit(1))[0]).toMatchObject({
      action: 'device_credentials_issued',
      username: 'nz-stray-9',
      by: 'admin',
    });

    // Eight at once: every account is kept (each request reads, changes and writes the whole file).
    const ids = Array.from({ length: 8 }, (_, i) => `nz-a-${i}`);
    for (const id of ids)
      await h.app.inject({
        method: 'POST',
        url: '/api/devices',
        headers: { cookie: h.cookie },
        payload: { ...meter, id, site: null },
      });
    const all = await Promise.all(
      ids.map((id) =>
        h.app.inject({ method: 'POST', url: `/api/devices/${id}/credentials`, headers: { cookie: h.cookie } }),
      ),
    );
    expect(all.map((r) => r.statusCode)).toEqual(ids.map(() => 200));
    expect(
      readCredentialsFile(h.credFile)
        .accounts.map((a) => a.username)
        .sort(),
    ).toEqual([...ids, 'nz-stray-9']);
  });

  it('lets every role read the map layers, and only admins change the registry', async () => {
    const h = await harness();
    for (const role of ['staff', 'reviewer'] as const) {
      await h.app.inject({
        method: 'POST',
        url: '/api/users',
        headers: { cookie: h.cookie },
        payload: { username: role, password: `${role}-password`, role },
      });
      const r = await h.app.inject({
        method: 'POST',
        url: '/api/session',
        payload: { username: role, password: `${role}-password` },
      });
      const cookie = (r.headers['set-cookie'] as string).split(';')[0]!;
      const map = await h.app.inject({ url: '/api/map', headers: { cookie } });
      expect(map.statusCode).toBe(200);
      expect(map.json().grid.features).toHaveLength(40);
      expect(map.json().tileUrl).toBeNull();
      expect(
        (await h.app.inject({ method: 'POST', url: '/api/devices', headers: { cookie }, payload: meter })).statusCode,
      ).toBe(403);
    }
    expect(h.devices.registry.list()).toEqual([]);
  });

  it('takes the cameras registered in the console into the registry as devices of kind camera, with their place', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devices-cam-'));
    const bus = new MemoryBus();
    const deadLetters = await DuckDbStore.open({ file: path.join(dir, 'dl.duckdb'), memoryLimit: '64MB' });
    const devices = await startDeviceRegistry({
      file: path.join(dir, 'r.json'),
      districtsFile: path.join(GEO, 'districts.geojson'),
      gridFile: path.join(GEO, 'grid.geojson'),
      demo: null,
      logger,
      cameras: { bus, deadLetters },
    });
    cleanups.push(
      () => fs.rmSync(dir, { recursive: true, force: true }),
      () => deadLetters.close(),
      () => bus.close(),
      () => devices.close(),
    );
    const [cam] = simulatedCameras(42, 1);
    await bus.publish('cameras', [{ key: 'console', value: JSON.stringify({ cameras: [cam] }) }]);
    await expect
      .poll(() => devices.registry.get(cam!.id), { timeout: 10_000 })
      .toMatchObject({
        kind: 'camera',
        district: cam!.district,
        gridCell: cam!.gridCell,
        location: cam!.location,
        address: cam!.postedLocation,
        createdBy: 'cameras',
      });
    // Moved on the camera page: the registry follows, and keeps its own status.
    const {
      id: _i,
      createdAt: _c,
      updatedAt: _u,
      createdBy: _cb,
      updatedBy: _ub,
      ...record
    } = devices.registry.get(cam!.id)!;
    await devices.registry.update(cam!.id, { ...record, status: 'maintenance' }, 'admin');
    const moved = { ...cam!, location: { lat: 31.86, lon: 120.52 } };
    await bus.publish('cameras', [{ key: 'console', value: JSON.stringify({ cameras: [moved] }) }]);
    await expect.poll(() => devices.registry.get(cam!.id)?.location, { timeout: 10_000 }).toEqual(moved.location);
    expect(devices.registry.get(cam!.id)!.status).toBe('maintenance');
  });
});
