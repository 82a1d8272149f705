// TLS on the platform's own listeners, with a CA made at test time (test/tls-certs.ts): MQTT over TLS on the
// embedded broker (same accounts as the plain port), HTTPS on the API with a Secure session cookie (also behind a
// trusted proxy that says X-Forwarded-Proto: https), clients that trust only the city's CA and refuse another, and
// certificate settings that are wrong stop the start naming the variable.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAppConfig } from '../app/config.js';
import { startPlatform, type Platform } from '../app/platform.js';
import { writeCredentialsFile } from '../broker/credentials.js';
import { EdgeAgent } from '../edge/agent.js';
import { EdgeConfigSchema } from '../edge/config.js';
import { MqttPublisher } from '../ingest/nbiot/publisher.js';
import { parseConfig } from '../runtime/config.js';
import { silentLogger } from '../runtime/log.js';
import { hashPassword, MACHINE_SECRET_KDF, randomSecret } from '../users/kdf.js';
import { captureLogger, ROOT, SIM_START, tmpDir, uniq, waitFor } from './helpers.js';
import { makeTestCa, type TestCa } from './tls-certs.js';

const ADMIN = 'tls-admin-password';
let dir: string;
let city: TestCa;
let stranger: TestCa;
let p: Platform;
const publishers: MqttPublisher[] = [];
const readFile = (f: string) => fs.readFileSync(f);

// Two noise meters with accounts of their own on the embedded broker, for edge agents (written before the start; the
// platform keeps accounts an operator added).
const METERS = ['nz-xinhua-tls1', 'nz-xinhua-tls2'];
const meterPassword = randomSecret(32);

const baseEnv = () => ({
  PORT: '0',
  MQTT_PORT: '0',
  HJ212_PORT: 'off',
  HOST: '127.0.0.1',
  SIMULATE: '0',
  ADMIN_PASSWORD: ADMIN,
});

beforeAll(async () => {
  dir = tmpDir('tls');
  city = makeTestCa(dir, 'city');
  stranger = makeTestCa(dir, 'stranger');
  const hash = await hashPassword(meterPassword, MACHINE_SECRET_KDF);
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
  writeCredentialsFile(path.join(dir, 'data', 'mqtt-credentials.json'), {
    version: 1,
    accounts: METERS.map((id) => ({
      type: 'device' as const,
      username: id,
      deviceId: id,
      district: 'xinhua',
      kind: 'noise' as const,
      hash,
    })),
  });
  const cfg = loadAppConfig({
    ...baseEnv(),
    DATA_DIR: path.join(dir, 'data'),
    MQTT_TLS_CERT: city.certFile,
    MQTT_TLS_KEY: city.keyFile,
    MQTT_TLS_PORT: '0',
    HTTPS_CERT: city.certFile,
    HTTPS_KEY: city.keyFile,
  });
  p = await startPlatform(cfg, silentLogger);
});

afterAll(async () => {
  for (const pub of publishers) await pub.close();
  await p?.stop();
});

const tlsUrl = () => `mqtts://127.0.0.1:${p.mqttTlsPort}`;

function publisher(caFile?: string): MqttPublisher {
  const pub = new MqttPublisher({
    url: tlsUrl(),
    clientId: uniq('tls-nbiot-'),
    username: 'nbiot',
    password: p.mqttPasswords!.get('nbiot'),
    caFile,
    timeoutMs: 5000,
    logger: silentLogger,
  });
  publishers.push(pub);
  return pub;
}

/** An HTTPS request to the API, trusting `ca`. */
function request(
  ca: string,
  method: string,
  urlPath: string,
  body?: unknown,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${p.apiUrl}${urlPath}`,
      { method, ca: readFile(ca), headers: body ? { 'content-type': 'application/json' } : {} },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

describe('MQTT over TLS on the embedded broker', () => {
  it('a client that trusts the city CA publishes over mqtts:// and the reading is stored', async () => {
    expect(p.mqttTlsPort).toBeGreaterThan(0);
    const pub = publisher(city.caFile);
    expect(await waitFor(() => pub.connected, 10_000, 50)).toBe(true);
    const device = uniq('mh-xinhua-tls');
    const ts = Date.now() - 1000;
    await pub.publish(
      `city/v1/xinhua/manhole/${device}/readings`,
      JSON.stringify({ ts, metrics: { open: 1, tilt_deg: 12 } }),
    );
    expect(
      await waitFor(async () => (await p.store.query({ deviceId: device, limit: 10 })).total > 0, 10_000, 100),
    ).toBe(true);
    const r = await p.store.query({ deviceId: device, limit: 10 });
    expect(r.readings[0]!.ts).toBe(ts);
    expect(r.readings[0]!.metrics).toEqual({ open: 1, tilt_deg: 12 });
  });

  it('a client that trusts another CA, or only the public CAs, is refused at the handshake', async () => {
    for (const ca of [readFile(stranger.caFile), undefined]) {
      const err = await mqtt
        .connectAsync(tlsUrl(), {
          ca,
          username: 'nbiot',
          password: p.mqttPasswords!.get('nbiot'),
          reconnectPeriod: 0,
          connectTimeout: 5000,
        })
        .then(
          (c) => c.endAsync().then(() => null),
          (e: Error) => e,
        );
      expect(err?.message).toMatch(/self[- ]signed certificate|unable to (get|verify)/);
    }
    // The platform's own client classes refuse it too: the publisher never connects, so a push is refused.
    const pub = publisher(stranger.caFile);
    await expect(pub.publish('city/v1/xinhua/manhole/mh-xinhua-x/readings', '{}')).rejects.toThrow();
    expect(pub.connected).toBe(false);
  });

  it('the TLS port checks the same accounts as the plain one', async () => {
    const err = await mqtt
      .connectAsync(tlsUrl(), {
        ca: readFile(city.caFile),
        username: 'nbiot',
        password: 'not-its-password',
        reconnectPeriod: 0,
        connectTimeout: 5000,
      })
      .then(
        (c) => c.endAsync().then(() => null),
        (e: Error & { code?: number }) => e,
      );
    expect((err as { code?: number } | null)?.code).toBe(4);
  });
});

/** An edge agent with one simulated noise meter that sends 5 readings to the TLS port, trusting `caFile`. */
function edgeAgent(meter: string, caFile: string, logger = silentLogger): EdgeAgent {
  const cfg = parseConfig(
    EdgeConfigSchema,
    {
      gatewayId: uniq('gw'),
      mqtt: { url: tlsUrl(), caFile, reconnectMinMs: 200, reconnectMaxMs: 2000, settleMs: 0 },
      buffer: { dir: path.join(dir, uniq('edge-')), fsyncMs: 0 },
      devices: [
        {
          id: meter,
          username: meter,
          password: meterPassword,
          kind: 'noise',
          district: 'xinhua',
          driver: { type: 'simulator', seed: 3, intervalMs: 1000, start: SIM_START, emitEveryMs: 20, count: 5 },
        },
      ],
    },
    'the test edge config',
  );
  return new EdgeAgent(cfg, logger);
}

describe('the edge agent over mqtts://', () => {
  it('with mqtt.caFile the city CA, its readings are stored', async () => {
    const agent = edgeAgent(METERS[0]!, city.caFile);
    await agent.start();
    try {
      expect(
        await waitFor(async () => (await p.store.query({ deviceId: METERS[0]!, limit: 100 })).total === 5, 20_000, 100),
      ).toBe(true);
      await agent.drained();
    } finally {
      await agent.stop(0);
    }
  });

  it('with another CA it refuses the broker and keeps its readings on disk', async () => {
    const { logger, lines } = captureLogger();
    const agent = edgeAgent(METERS[1]!, stranger.caFile, logger);
    let sent = false;
    await agent.start(() => (sent = true));
    try {
      // The log says what is wrong and what to set.
      const refused = () =>
        lines.some(
          (l) =>
            l.msg === 'mqtt error' &&
            /(self[- ]signed certificate|unable to (get|verify)).*set mqtt\.caFile to the CA that signed it/.test(
              String(l.err),
            ),
        );
      expect(await waitFor(refused, 20_000, 50)).toBe(true);
      // The simulated meter has handed all five readings to the agent: they wait in its buffer, none published.
      expect(await waitFor(() => sent, 20_000, 50)).toBe(true);
      const [link] = agent.stats();
      expect(link!.connected).toBe(false);
      expect(link!.published).toBe(0);
      expect(link!.bufferedBytes).toBeGreaterThan(0);
      expect((await p.store.query({ deviceId: METERS[1]!, limit: 100 })).total).toBe(0);
    } finally {
      await agent.stop(0);
    }
  });
});

/** A Mosquitto of this test with a TLS listener only, on a free loopback port, anonymous (the accounts are not the point). */
async function startTlsMosquitto(tls: TestCa): Promise<{ port: number; child: ChildProcess; log: () => string }> {
  const port = await new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port: p } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(p));
    });
  });
  const conf = path.join(tls.dir, 'mosquitto.conf');
  fs.writeFileSync(
    conf,
    [
      // Started as root, Mosquitto would drop to the user `mosquitto`, who cannot read the test's key.
      `user ${os.userInfo().username}`,
      `listener ${port} 127.0.0.1`,
      `cafile ${tls.caFile}`,
      `certfile ${tls.certFile}`,
      `keyfile ${tls.keyFile}`,
      'allow_anonymous true',
      'persistence false',
      'log_dest stderr',
      '',
    ].join('\n'),
  );
  const child = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const answering = () =>
    new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => c.end(() => resolve(true)));
      c.on('error', () => resolve(false));
    });
  if (!(await waitFor(answering, 10_000, 50))) throw new Error(`mosquitto did not open port ${port}: ${log}`);
  return { port, child, log: () => log };
}

describe('the platform on an external broker over TLS (Mosquitto), MQTT_URL=mqtts://... with MQTT_CA_FILE', () => {
  let mq: Awaited<ReturnType<typeof startTlsMosquitto>>;
  beforeAll(async () => {
    mq = await startTlsMosquitto(city);
  });
  afterAll(() => {
    mq?.child.kill();
  });

  it('ingest trusts the city CA from MQTT_CA_FILE: a reading published over TLS is stored', async () => {
    const q = await startPlatform(
      loadAppConfig({
        ...baseEnv(),
        DATA_DIR: path.join(dir, 'external'),
        MQTT_URL: `mqtts://127.0.0.1:${mq.port}`,
        MQTT_CA_FILE: city.caFile,
        INGEST_CLIENT_ID: uniq('ingest-tls-'),
      }),
      silentLogger,
    );
    try {
      expect(q.ingest!.connected).toBe(true);
      const device = uniq('nz-xinhua-ext');
      const pub = await mqtt.connectAsync(`mqtts://127.0.0.1:${mq.port}`, {
        ca: readFile(city.caFile),
        reconnectPeriod: 0,
      });
      await pub.publishAsync(
        `city/v1/xinhua/noise/${device}/readings`,
        JSON.stringify({ ts: Date.now() - 1000, metrics: { laeq_db: 61.5 } }),
        { qos: 1 },
      );
      await pub.endAsync();
      expect(
        await waitFor(async () => (await q.store.query({ deviceId: device, limit: 10 })).total === 1, 10_000, 100),
      ).toBe(true);
    } finally {
      await q.stop();
    }
  });

  it("with another CA in MQTT_CA_FILE the start stops, saying the broker's certificate is not trusted", async () => {
    const started = startPlatform(
      loadAppConfig({
        ...baseEnv(),
        DATA_DIR: path.join(dir, 'external-wrong-ca'),
        MQTT_URL: `mqtts://127.0.0.1:${mq.port}`,
        MQTT_CA_FILE: stranger.caFile,
        INGEST_CLIENT_ID: uniq('ingest-tls-'),
      }),
      silentLogger,
    );
    await expect(started).rejects.toThrow(
      /cannot connect to the MQTT broker at mqtts:\/\/127\.0\.0\.1:\d+ \(MQTT_URL\): .*(self[- ]signed certificate|unable to (get|verify)).*MQTT_CA_FILE/,
    );
  });
});

describe('HTTPS on the API', () => {
  it('serves the API over HTTPS and the session cookie is Secure', async () => {
    expect(p.apiUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const r = await request(city.caFile, 'POST', '/api/session', { username: 'admin', password: ADMIN });
    expect(r.status).toBe(200);
    const cookie = String(r.headers['set-cookie']);
    expect(cookie.split('; ')).toContain('Secure');
    expect(cookie.split('; ')).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Strict']));
    await expect(request(stranger.caFile, 'GET', '/healthz')).rejects.toThrow(
      /self[- ]signed certificate|unable to (get|verify)/,
    );
  });

  it('behind a proxy, the cookie is Secure when a TRUST_PROXY address says X-Forwarded-Proto: https, and only then', async () => {
    for (const [trust, secure] of [
      ['127.0.0.1', true],
      ['10.0.0.0/8', false],
    ] as const) {
      const q = await startPlatform(
        loadAppConfig({ ...baseEnv(), DATA_DIR: path.join(dir, `proxy-${secure}`), TRUST_PROXY: trust }),
        silentLogger,
      );
      try {
        const res = await fetch(`${q.apiUrl}/api/session`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https' },
          body: JSON.stringify({ username: 'admin', password: ADMIN }),
        });
        expect(res.status).toBe(200);
        expect((res.headers.get('set-cookie') ?? '').split('; ').includes('Secure'), `TRUST_PROXY=${trust}`).toBe(
          secure,
        );
      } finally {
        await q.stop();
      }
    }
  });
});

describe('certificate settings', () => {
  const env = (extra: Record<string, string>) => ({ ...baseEnv(), DATA_DIR: path.join(dir, 'cfg'), ...extra });

  it("a missing file, a key that is not the certificate's, or half a pair is refused naming the variable", () => {
    expect(() => loadAppConfig(env({ MQTT_TLS_CERT: path.join(dir, 'nope.crt'), MQTT_TLS_KEY: city.keyFile }))).toThrow(
      /MQTT_TLS_CERT: .*nope\.crt does not exist/,
    );
    expect(() => loadAppConfig(env({ HTTPS_CERT: city.certFile, HTTPS_KEY: stranger.keyFile }))).toThrow(
      /HTTPS_CERT and HTTPS_KEY: .*cannot be used together/,
    );
    expect(() => loadAppConfig(env({ HTTPS_CERT: city.certFile }))).toThrow(
      /HTTPS_KEY: HTTPS_CERT and HTTPS_KEY go together/,
    );
    expect(() => loadAppConfig(env({ MQTT_CA_FILE: path.join(dir, 'city') }))).toThrow(/MQTT_CA_FILE: /);
    expect(() => loadAppConfig(env({ MQTT_TLS_PORT: '8883' }))).toThrow(/MQTT_TLS_PORT: needs MQTT_TLS_CERT/);
    expect(() =>
      loadAppConfig(
        env({ MQTT_URL: 'mqtt://127.0.0.1:1883', MQTT_TLS_CERT: city.certFile, MQTT_TLS_KEY: city.keyFile }),
      ),
    ).toThrow(/MQTT_TLS_CERT: is for the embedded broker/);
  });

  it('npm start with a missing certificate file exits 2 naming the variable, without a stack trace', async () => {
    const { MQTT_URL: _ignored, ...base } = process.env;
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'app/main.ts')], {
      cwd: ROOT,
      env: { ...base, ...env({ MQTT_TLS_CERT: path.join(dir, 'missing.crt'), MQTT_TLS_KEY: city.keyFile }) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // A platform that starts anyway (the variable ignored) is stopped, so the test fails instead of hanging.
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const status = await new Promise<number | null>((r) => child.on('exit', r));
    clearTimeout(timer);
    expect(status).toBe(2);
    expect(stderr).toMatch(/MQTT_TLS_CERT: .*missing\.crt does not exist/);
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});
