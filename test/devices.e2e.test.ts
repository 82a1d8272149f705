// The device paths of the embedded default, as a city's installer meets them: an HJ 212 monitor connecting to the
// platform's port (commissioning mode registers it as hj212-<MN>) and the carrier platform pushing NB-IoT manhole
// data to POST /api/ingest/nbiot (stored once, also when pushed twice; an unauthenticated push refused).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import modbusSerial from 'modbus-serial';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EdgeAgent } from '../edge/agent.js';
import { EdgeConfigSchema } from '../edge/config.js';
import { loadAppConfig } from '../app/config.js';
import { startPlatform, type Platform } from '../app/platform.js';
import { encodeFrame } from '../edge/drivers/hj212/frame.js';
import { silentLogger } from '../runtime/log.js';
import { ADMIN_PASSWORD, signIn, tmpDir, uniq, waitFor, type ApiCall } from './helpers.js';

const TOKEN = 'embedded-test-token-0123456789';
let p: Platform;
let call: ApiCall;

beforeAll(async () => {
  const dir = tmpDir('devices');
  const nbiot = path.join(dir, 'nbiot.json');
  fs.writeFileSync(
    nbiot,
    JSON.stringify({
      format: 'ctwing',
      auth: { mode: 'token', token: TOKEN, query: 'token' },
      devices: [{ carrierId: 'carrier-dev-1', id: 'mh-test-001', district: 'xinhua' }],
      idempotency: { dir: path.join(dir, 'ids') },
      mqtt: { url: 'mqtt://placeholder:1883' },
    }),
  );
  const cfg = loadAppConfig({
    PORT: '0',
    MQTT_PORT: '0',
    HJ212_PORT: '0',
    HJ212_ACCEPT_UNKNOWN: '1',
    NBIOT_CONFIG: nbiot,
    HOST: '127.0.0.1',
    DATA_DIR: dir,
    SIMULATE: '0',
    ADMIN_PASSWORD,
  });
  p = await startPlatform(cfg, silentLogger);
  call = await signIn(p.apiUrl);
});
afterAll(async () => {
  await p?.stop();
});

describe('device paths of the embedded default', () => {
  it('stores an unknown HJ 212 monitor as hj212-<MN> in commissioning mode, with its DataTime in the city time zone', async () => {
    expect(p.hj212Port).toBeGreaterThan(0);
    const sock = net.connect(p.hj212Port!, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    const answers: string[] = [];
    sock.on('data', (b) => answers.push(b.toString('latin1')));
    sock.write(
      encodeFrame(
        'QN=20261127100000001;ST=39;CN=2011;PW=123456;MN=NEWSITE0001;Flag=5;CP=&&DataTime=20261127100000;a34002-Rtd=88,a34002-Flag=N;LA-Rtd=61.5,LA-Flag=N&&',
      ),
    );
    expect(await waitFor(() => answers.join('').includes('CN=9014'), 10_000)).toBe(true);
    sock.destroy();
    expect(await waitFor(async () => (await p.store.countPoints('hj212-NEWSITE0001')) === 1, 15_000)).toBe(true);
    const dust = await p.store.query({ deviceId: 'hj212-NEWSITE0001', limit: 10 });
    expect(dust.readings).toEqual([{ ts: Date.parse('2026-11-27T10:00:00+08:00'), metrics: { pm10_ugm3: 88 } }]);
    const noise = await p.store.query({ deviceId: 'hj212-NEWSITE0001-noise', limit: 10 });
    expect(noise.readings).toEqual([{ ts: Date.parse('2026-11-27T10:00:00+08:00'), metrics: { laeq_db: 61.5 } }]);
  });

  it('takes NB-IoT pushes from the carrier platform once each, and refuses one without the token', async () => {
    const ts = Date.parse('2026-11-27T10:05:00+08:00');
    const body = JSON.stringify({
      upPacketSN: -1,
      upDataSN: -1,
      topic: 'v1/up/ad',
      timestamp: ts,
      tenantId: '2000031234',
      serviceId: 1,
      protocol: 'lwm2m',
      productId: '15012345',
      payload: { tilt_angle: 2.5, cover_status: 0, battery_value: 88 },
      messageType: 'dataReport',
      deviceId: 'carrier-dev-1',
      IMEI: '869976030100001',
    });
    const post = (url: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect((await post(`${p.apiUrl}/api/ingest/nbiot`)).status).toBe(401);
    expect((await post(`${p.apiUrl}/api/ingest/nbiot?token=${TOKEN}`)).status).toBe(200);
    expect((await post(`${p.apiUrl}/api/ingest/nbiot?token=${TOKEN}`)).status).toBe(200);
    expect(await waitFor(async () => (await p.store.countPoints('mh-test-001')) === 3, 15_000)).toBe(true);
    const r = await p.store.query({ deviceId: 'mh-test-001', limit: 10 });
    expect(r.readings).toEqual([{ ts, metrics: { tilt_deg: 2.5, open: 0, battery_pct: 88 } }]);
  });
});

describe('a Modbus gauge at a pumping station', () => {
  it('is polled into readings, and when it stops answering the offline health alert is raised at once', async () => {
    // A water-level gauge: level in holding register 0 (0.1 cm), rain as float32 in registers 2-3.
    const regs = [1234, 0, 0, 0];
    const f = Buffer.alloc(4);
    f.writeFloatBE(12.5);
    regs[2] = f.readUInt16BE(0);
    regs[3] = f.readUInt16BE(2);
    let answering = true;
    type Cb = (err: unknown, v: number) => void;
    const vector = {
      getHoldingRegister: (a: number, _u: number, cb: Cb) => {
        if (answering) cb(null, regs[a] ?? 0);
      },
      getInputRegister: (_a: number, _u: number, cb: Cb) => cb(null, 0),
      getCoil: (_a: number, _u: number, cb: (e: unknown, v: boolean) => void) => cb(null, false),
      setRegister: (_a: number, _v: number, _u: number, cb: (e: unknown) => void) => cb(null),
      setCoil: (_a: number, _v: boolean, _u: number, cb: (e: unknown) => void) => cb(null),
    };
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const q = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(q));
      });
    });
    const server = new modbusSerial.ServerTCP(vector as never, { host: '127.0.0.1', port });
    server.on('socketError', () => undefined);
    await new Promise((r) => server.on('initialized', r));
    const device = uniq('gauge');
    const agent = new EdgeAgent(
      EdgeConfigSchema.parse({
        gatewayId: uniq('gw'),
        mqtt: { url: p.mqttUrl, settleMs: 100 },
        buffer: { dir: tmpDir('modbus'), fsyncMs: 0 },
        devices: [
          {
            id: device,
            kind: 'drainage',
            district: 'xinhua',
            // The embedded broker's gateway account (a real gauge gets its own: broker/credentials-main.ts).
            username: 'embedded-gateway',
            password: p.mqttPasswords!.get('embedded-gateway'),
            driver: {
              type: 'modbus',
              transport: { kind: 'tcp', host: '127.0.0.1', port, unitId: 1 },
              pollMs: 500,
              timeoutMs: 300,
              retries: 1,
              registers: [
                { metric: 'level_cm', address: 0, type: 'uint16', scale: 0.1 },
                { metric: 'rain_mmh', address: 2, type: 'float32' },
              ],
            },
          },
        ],
      }),
      silentLogger,
    );
    await agent.start();
    try {
      expect(await waitFor(async () => (await p.store.countPoints(device)) >= 4, 15_000)).toBe(true);
      const r = await p.store.query({ deviceId: device, limit: 1 });
      expect(r.readings[0]!.metrics).toEqual({ level_cm: 123.4, rain_mmh: 12.5 });
      answering = false;
      const offline = async () => {
        const items = (await call(`/api/alerts?device=${device}`)).body.items as { ruleId: string; state: string }[];
        return items.some((a) => a.ruleId === 'health.offline' && a.state !== 'resolved');
      };
      expect(await waitFor(offline, 15_000)).toBe(true);
    } finally {
      await agent.stop(0);
      await new Promise((r) => server.close(r));
    }
  });
});
