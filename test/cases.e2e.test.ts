// Dispatch to the city's case system when it is down: a reviewer confirms an event while the case system's webhook
// refuses connections for 30 s; the case waits in the persisted outbox and is delivered once the system is back,
// exactly once (one Idempotency-Key, one request accepted), with a signature that verifies.
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAppConfig } from '../app/config.js';
import { startPlatform, type Platform } from '../app/platform.js';
import { EvidenceStore } from '../vision/evidence/store.js';
import { silentLogger } from '../runtime/log.js';
import { publishedCamerasFile, simulatedEvents } from './console-fixtures.js';
import { ADMIN_PASSWORD, signIn, sleep, tmpDir, waitFor, type ApiCall } from './helpers.js';

const SECRET = 'cases-e2e-webhook-secret-0123';
let p: Platform;
let admin: ApiCall;
let port: number;
let dataDir: string;

beforeAll(async () => {
  port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const q = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(q));
    });
  });
  dataDir = tmpDir('cases');
  const cfg = loadAppConfig({
    PORT: '0',
    MQTT_PORT: '0',
    HJ212_PORT: 'off',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    CAMERAS_FILE: publishedCamerasFile(dataDir),
    SIMULATE: '0',
    PLATES: '0',
    ADMIN_PASSWORD,
    CASE_WEBHOOK_URL: `http://127.0.0.1:${port}/cases`,
    CASE_WEBHOOK_SECRET: SECRET,
    CASE_RETRY_BASE_MS: '500',
    CASE_RETRY_MAX_MS: '3000',
    CASE_WEBHOOK_TIMEOUT_MS: '2000',
  });
  p = await startPlatform(cfg, silentLogger);
  admin = await signIn(p.apiUrl);
});
afterAll(async () => {
  await p?.stop();
});

describe('case dispatch with the case system down', () => {
  it('delivers a confirmed case once after a 30 s outage, by its idempotency key, signed', async () => {
    const [event] = await simulatedEvents(new EvidenceStore(`${dataDir}/evidence`), Date.now() - 600_000);
    await p.bus.publish('events', [{ key: event!.camera.id, value: JSON.stringify(event) }]);
    expect(
      await waitFor(async () => (await admin(`/api/events/${encodeURIComponent(event!.id)}`)).status === 200, 10_000),
    ).toBe(true);

    const t0 = Date.now();
    const review = await admin(`/api/events/${encodeURIComponent(event!.id)}/review`, {
      decision: 'confirm',
      note: '车辆在禁停区停放超时',
    });
    expect(review.status).toBe(200);
    const caseId = String(review.body.caseId);
    await sleep(2000);
    const pending = await admin(`/api/cases/${encodeURIComponent(caseId)}`);
    expect((pending.body.delivery as { status: string; attempts: number }).status).toBe('pending');
    expect((pending.body.delivery as { attempts: number }).attempts).toBeGreaterThan(0);

    // The case system comes back 30 s after the confirmation.
    await sleep(Math.max(0, 30_000 - (Date.now() - t0)));
    const received: { key: string; body: string; sig: string }[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        received.push({ key: String(req.headers['idempotency-key']), body, sig: String(req.headers['x-signature']) });
        res.writeHead(201, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    try {
      expect(
        await waitFor(
          async () =>
            ((await admin(`/api/cases/${encodeURIComponent(caseId)}`)).body.delivery as { status: string }).status ===
            'delivered',
          20_000,
        ),
      ).toBe(true);
      await sleep(3000);
      expect(received.map((r) => r.key)).toEqual([caseId]);
      const r = received[0]!;
      expect(r.sig).toBe(`sha256=${crypto.createHmac('sha256', SECRET).update(r.body).digest('hex')}`);
      const doc = JSON.parse(r.body) as { id: string; code: string };
      expect(doc.id).toBe(caseId);
      expect(doc.code).toBe('0505');
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
