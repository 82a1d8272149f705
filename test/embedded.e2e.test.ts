// The embedded default as a new user meets it: one process with its own broker, store, simulated fleet and API;
// readings from any MQTT client (here the real mosquitto_pub) are stored; a bad setting stops it with a message.
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbAlertStore } from '../alerts/store.js';
import { loadAppConfig } from '../app/config.js';
import { startPlatform, type Platform } from '../app/platform.js';
import { silentLogger } from '../runtime/log.js';
import { ADMIN_PASSWORD, ROOT, signIn, tmpDir, waitFor, type ApiCall } from './helpers.js';

let p: Platform;
let dataDir: string;
let call: ApiCall;

beforeAll(async () => {
  dataDir = tmpDir('embedded');
  const cfg = loadAppConfig({
    PORT: '0',
    MQTT_PORT: '0',
    HJ212_PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    SIM_PER_KIND: '1',
    SIM_DISTRICTS: 'xinhua',
    ADMIN_PASSWORD,
  });
  p = await startPlatform(cfg, silentLogger);
  call = await signIn(p.apiUrl);
});

afterAll(async () => {
  await p?.stop();
});

const get = async (url: string) => {
  if (!url.startsWith('/api/')) {
    const res = await fetch(`${p.apiUrl}${url}`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }
  return call(url);
};

describe('embedded default', () => {
  it('stores what mosquitto_pub sends to the embedded broker and serves it over the API', async () => {
    const port = new URL(p.mqttUrl!).port;
    const ts = '2026-11-27T10:00:00+08:00';
    // Asynchronously: the broker lives in this process and must keep running while mosquitto_pub talks to it.
    // The embedded broker asks every client for its credentials; the gateway's account may publish any sensor's topics.
    await promisify(execFile)('mosquitto_pub', [
      '-h',
      '127.0.0.1',
      '-p',
      port,
      '-q',
      '1',
      '-u',
      'embedded-gateway',
      '-P',
      p.mqttPasswords!.get('embedded-gateway')!,
      '-i',
      'test-pub',
      '-t',
      'city/v1/xinhua/noise/my-meter/readings',
      '-m',
      JSON.stringify({ ts, metrics: { laeq_db: 58.2 } }),
    ]);
    expect(await waitFor(async () => (await get('/api/readings?device=my-meter')).body.total === 1, 10_000)).toBe(true);
    const { body } = await get(
      '/api/readings?device=my-meter&metric=laeq_db&from=2026-11-27T00:00:00Z&to=2026-11-28T00:00:00Z&resolution=raw',
    ); // raw even once the day is past rawDays
    expect(body).toEqual({
      resolution: 'raw',
      readings: [{ ts: '2026-11-27T02:00:00.000Z', metrics: { laeq_db: 58.2 } }],
      total: 1,
    });
  });

  it('runs the simulated fleet: readings of every kind arrive, and the ground truth file is kept', async () => {
    for (const dev of ['nz-xinhua-001', 'ds-xinhua-001', 'fm-xinhua-001', 'dr-xinhua-001', 'mh-xinhua-001']) {
      expect(
        await waitFor(async () => Number((await get(`/api/readings?device=${dev}`)).body.total) > 0, 15_000),
        dev,
      ).toBe(true);
    }
    expect(fs.existsSync(path.join(dataDir, 'edge', 'nz-xinhua-001'))).toBe(true);
  });

  it('answers health, readiness, metrics and bad queries sensibly', async () => {
    expect((await get('/healthz')).status).toBe(200);
    expect(await get('/readyz')).toEqual({
      status: 200,
      body: { status: 'ready', checks: { store: true, mqtt: true, bus: true } },
    });
    const metrics = await (await fetch(`${p.apiUrl}/metrics`)).text();
    expect(metrics).toMatch(/ingest_messages_total\{outcome="accepted"\} \d+/);
    const bad = await get('/api/readings?device=x&from=yesterday');
    expect(bad.status).toBe(400);
    expect(String(bad.body.message)).toMatch(/from/);
    expect((await get('/api/readings')).status).toBe(400);
    expect((await get('/api/dead-letters?limit=0')).status).toBe(400);
  });
});

describe('bad configuration', () => {
  // Asynchronously, since the busy-port case needs this process's embedded broker to keep running.
  const run = (file: string, env: Record<string, string>, args: string[] = []) =>
    new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const { MQTT_URL: _ignored, ...base } = process.env;
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, file), ...args], {
        cwd: ROOT,
        env: { ...base, ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.on('exit', (status) => {
        clearTimeout(timer);
        resolve({ status, stderr });
      });
    });

  it('npm start with an invalid variable exits 2 naming it, without a stack trace', async () => {
    const r = await run('app/main.ts', { PORT: 'eighty', SIMULATE: 'maybe', DATA_DIR: tmpDir('badcfg') });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/PORT/);
    expect(r.stderr).toMatch(/SIMULATE/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('npm start on a port that is taken says so', async () => {
    const port = new URL(p.mqttUrl!).port;
    const r = await run('app/main.ts', {
      MQTT_PORT: port,
      HOST: '127.0.0.1',
      PORT: '0',
      DATA_DIR: tmpDir('busy'),
      SIMULATE: '0',
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`port ${port} is in use`));
  });

  it('the edge agent with a broken config file exits 2 naming the field', async () => {
    const dir = tmpDir('edgecfg');
    const file = path.join(dir, 'edge.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        gatewayId: 'gw',
        mqtt: { url: 'localhost' },
        buffer: { dir },
        devices: [{ id: 'a b', kind: 'noise', district: 'x', driver: { type: 'simulator' } }],
      }),
    );
    const r = await run('edge/main.ts', {}, ['--config', file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/mqtt\.url/);
    expect(r.stderr).toMatch(/devices\.0\.id/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const missing = await run('edge/main.ts', {}, ['--config', path.join(dir, 'nope.json')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/does not exist/);
  });

  // Last: it stops the platform.
  it('stopping the platform raises no offline alerts: its own edge agent stopping is not its devices failing', async () => {
    expect(
      await waitFor(async () => Number((await get('/api/readings?device=nz-xinhua-001')).body.total) > 0, 15_000),
    ).toBe(true);
    await p.stop();
    const alerts = await DuckDbAlertStore.open(path.join(dataDir, 'alerts.duckdb'));
    try {
      const { items } = await alerts.list({ limit: 1000 });
      expect(items.filter((a) => a.ruleId === 'health.offline')).toEqual([]);
    } finally {
      await alerts.close();
    }
  });
});
