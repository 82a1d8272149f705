// Shared pieces of the end-to-end tests: real services, temporary dirs, child processes.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { expect } from 'vitest';
import { METRICS, type SensorKind } from '../contracts/index.js';
import type { ReadingStore } from '../store/types.js';
import { Ingest, type IngestOptions } from '../ingest/ingest.js';
import { silentLogger } from '../runtime/log.js';
import { DuckDbStore } from '../store/duckdb/store.js';
import type { AclBroker } from './mosquitto-acl.js';

export const ROOT = path.resolve(import.meta.dirname, '..');

export function mqttUrl(): string {
  const url = process.env.MQTT_URL;
  if (!url) throw new Error('MQTT_URL is not set: the global setup runs scripts/services up');
  return url;
}

/** Controls the real Mosquitto started by scripts/services. */
export function mosquitto(cmd: 'stop' | 'start' | 'kill'): void {
  execFileSync(path.join(ROOT, 'scripts/services.d/mosquitto.sh'), [cmd], { stdio: 'inherit' });
}

export function tmpDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `city-${name}-`));
}

/** A name unique to this run, so persistent sessions and topics of different tests never meet. */
export function uniq(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

export async function openStore(dir: string): Promise<DuckDbStore> {
  return DuckDbStore.open({ file: path.join(dir, 'test.duckdb'), memoryLimit: '256MB' });
}

export function startIngest(
  store: DuckDbStore,
  o: Partial<IngestOptions> & { clientId: string; filter: string },
): Ingest {
  return new Ingest({
    mqttUrl: mqttUrl(),
    shareGroup: 'ingest',
    store,
    logger: silentLogger,
    registry: new Registry(),
    batchMaxReadings: 2000,
    batchMaxDelayMs: 20,
    maxPayloadBytes: 256 * 1024,
    receiveMaximum: 20_000,
    sessionExpirySec: 300,
    ...o,
  });
}

/** Runs the edge agent as its own process, as on a gateway. */
export function spawnEdge(configFile: string, extraArgs: string[] = []): ChildProcess {
  // The config file names the broker (MQTT_URL in the environment would override it: edge/config.ts).
  const { MQTT_URL: _fromConfig, ...env } = process.env;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'edge/main.ts'), '--config', configFile, ...extraArgs],
    {
      cwd: ROOT,
      env: { ...env, LOG_FORMAT: 'json', LOG_LEVEL: process.env.EDGE_LOG_LEVEL ?? 'warn' },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  return child;
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A TCP port free on 127.0.0.1 at the moment of asking. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
    s.on('error', reject);
  });
}

/** A pino logger at info whose JSON lines are kept in `lines`, for tests that check what was logged. */
export function captureLogger() {
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

/** Polls until `check` returns true or the time is up; returns the last value of `check`. */
export async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  everyMs = 200,
): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > end) return false;
    await sleep(everyMs);
  }
}

/** A simulated device of the end-to-end tests: `count` readings, one a second of virtual time from SIM_START. */
export interface Sim {
  id: string;
  kind: SensorKind;
  count: number;
}

export const SIM_START = Date.parse('2026-06-01T00:00:00Z');

/**
 * Writes an edge-agent config for simulated devices on the test broker; one reading every emitEveryMs of wall time.
 * On a broker with accounts (test/mosquitto-acl.ts) each device logs in with its own, as in production.
 */
export function writeEdgeConfig(
  dir: string,
  district: string,
  devices: Sim[],
  emitEveryMs: number,
  broker?: AclBroker,
): string {
  const file = path.join(dir, 'edge.json');
  const cfg = {
    gatewayId: uniq('gw'),
    mqtt: { url: broker?.url ?? mqttUrl(), reconnectMinMs: 200, reconnectMaxMs: 2000 },
    buffer: { dir: path.join(dir, 'buffer'), fsyncMs: 0 },
    publish: { inflight: 50, maxBatch: 100 },
    devices: devices.map((d) => ({
      id: d.id,
      ...(broker ? broker.login(d.id) : {}),
      kind: d.kind,
      district,
      driver: { type: 'simulator', seed: 3, intervalMs: 1000, start: SIM_START, emitEveryMs, count: d.count },
    })),
  };
  fs.writeFileSync(file, JSON.stringify(cfg));
  return file;
}

/** Points one simulated device produces: readings × metrics of its kind. */
export const pointsOf = (d: Sim) => d.count * Object.keys(METRICS[d.kind]).length;

/**
 * The store holds exactly what the simulator sent, through any store: every reading with its original timestamp
 * (one a second from SIM_START, in order, none missing) and every point (device, metric, ts) once.
 */
export async function expectExact(store: ReadingStore, devices: Sim[]): Promise<void> {
  for (const d of devices) {
    const { total, readings } = await store.query({ deviceId: d.id, limit: d.count + 10 });
    expect(total, `readings of ${d.id}`).toBe(d.count);
    expect(readings.map((r) => r.ts)).toEqual(Array.from({ length: d.count }, (_, i) => SIM_START + i * 1000));
    expect(await store.countPoints(d.id), `points of ${d.id}`).toBe(pointsOf(d));
  }
}

/** The console admin's password in tests (ADMIN_PASSWORD). */
export const ADMIN_PASSWORD = 'test-admin-password-1';

export type ApiCall = ((
  path: string,
  body?: unknown,
  method?: string,
) => Promise<{ status: number; body: Record<string, unknown> }>) & {
  /** The session cookie, for requests made by hand (an event stream, an image). */
  cookie: string;
};

/** Signs in to the API (POST /api/session) and returns a caller that sends the session cookie. */
export async function signIn(apiUrl: string, username = 'admin', password = ADMIN_PASSWORD): Promise<ApiCall> {
  const res = await fetch(`${apiUrl}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (res.status !== 200) throw new Error(`sign-in as ${username} failed: ${res.status} ${await res.text()}`);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  const call = async (path: string, body?: unknown, method?: string) => {
    const r = await fetch(`${apiUrl}${path}`, {
      method: method ?? (body === undefined ? 'GET' : 'POST'),
      headers: { cookie, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    let parsed: Record<string, unknown> = {};
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      parsed = { text };
    }
    return { status: r.status, body: parsed };
  };
  return Object.assign(call, { cookie });
}
