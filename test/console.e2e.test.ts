// The console flows in real headless Chromium against the real platform (the embedded default, started as
// `npm start` starts it): a reviewer logs in, sees a pending event with its evidence image, confirms it with the
// keyboard, and the case reaches a webhook receiver with a valid signature; a staff member sees an alert arrive live
// and acknowledges it. The screenshots of docs/console/ are taken here.
//
// Each flow needs routes that other parts of the platform serve (sessions and users, review decisions and cases, the
// console itself): the platform is asked at start which ones it serves, and a flow whose routes are not there yet
// is skipped rather than failed.
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAppConfig } from '../app/config.js';
import { startPlatform } from '../app/platform.js';
import { silentLogger } from '../runtime/log.js';
import { EvidenceStore } from '../vision/evidence/store.js';
import { launch, login, screenshot, type Browser } from './console-browser.js';
import { publishedCamerasFile, simulatedEvents } from './console-fixtures.js';
import { tmpDir, waitFor } from './helpers.js';

const ADMIN_PASSWORD = 'console-e2e-admin-pw';
const SECRET = 'console-e2e-webhook-secret';

// The city's case system, as a test double: records what it receives.
const received: { body: string; headers: http.IncomingHttpHeaders }[] = [];
const receiver = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    received.push({ body: Buffer.concat(chunks).toString('utf8'), headers: req.headers });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
});
await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
const webhookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/cases`;

const dataDir = tmpDir('console-e2e');
const env = {
  PORT: '0',
  MQTT_PORT: '0',
  HJ212_PORT: 'off',
  HOST: '127.0.0.1',
  DATA_DIR: dataDir,
  CAMERAS_FILE: publishedCamerasFile(dataDir),
  SIM_PER_KIND: '1',
  SIM_DISTRICTS: 'xinhua',
  SIM_CAMERAS: '0',
  PLATES: '0',
  ADMIN_PASSWORD,
  CASE_WEBHOOK_URL: webhookUrl,
  CASE_WEBHOOK_SECRET: SECRET,
};
// Whether the platform reads these from its config or from the environment, they are set.
Object.assign(process.env, { ADMIN_PASSWORD, CASE_WEBHOOK_URL: webhookUrl, CASE_WEBHOOK_SECRET: SECRET });
const cfg = loadAppConfig(env);
const p = await startPlatform(cfg, silentLogger);

// Which of the console's routes the platform serves today.
const probe = async (path: string, init: RequestInit = {}) => {
  const res = await fetch(`${p.apiUrl}${path}`, init);
  const text = await res.text();
  // The API's own 404 for a path it has no route for.
  return {
    status: res.status,
    text,
    routed: !(res.status === 404 && /no route/.test(text)),
    cookie: res.headers.get('set-cookie'),
  };
};
const consoleServed = (await probe('/')).text.includes('/console/app.js');
const session = await probe('/api/session', {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
});
const authWired = session.status === 200 && !!session.cookie;
const adminCookie = session.cookie?.split(';')[0] ?? '';
const asAdmin = (path: string, init: RequestInit = {}) =>
  probe(path, {
    ...init,
    headers: { ...(init.headers ?? {}), cookie: adminCookie, 'content-type': 'application/json' },
  });
const reviewWired =
  authWired && (await asAdmin('/api/events/none/review', { method: 'POST', body: '{"decision":"confirm"}' })).routed;
const casesWired = authWired && (await asAdmin('/api/cases')).status === 200;
const devicesWired =
  authWired && (await asAdmin('/api/devices')).status === 200 && (await asAdmin('/api/rules')).status === 200;
const reviewerFlow = consoleServed && authWired && reviewWired && casesWired;
const staffFlow = consoleServed && authWired && devicesWired;

let browser: Browser | null = null;
const browserNow = async () => (browser ??= await launch());

/** Creates a user through the API as the admin (the console's users page is tested in console.test.ts). */
async function user(username: string, role: string): Promise<string> {
  const password = `${username}-pw-${crypto.randomBytes(4).toString('hex')}`;
  const r = await asAdmin('/api/users', {
    method: 'POST',
    body: JSON.stringify({ username, password, role, displayName: username }),
  });
  expect(r.status, r.text).toBeLessThan(300);
  return password;
}

afterAll(async () => {
  await browser?.close();
  await p.stop();
  await new Promise((r) => receiver.close(r));
});

describe('console on the real platform', () => {
  it('serves the console and every route its pages use', () => {
    expect({ consoleServed, authWired, reviewWired, casesWired, devicesWired }).toEqual({
      consoleServed: true,
      authWired: true,
      reviewWired: true,
      casesWired: true,
      devicesWired: true,
    });
    expect(reviewerFlow && staffFlow).toBe(true);
  });

  it('a reviewer logs in, sees a pending event with its evidence image, confirms it with C; the case reaches the webhook with a valid signature', async () => {
    const password = await user('reviewer.e2e', 'reviewer');
    // An event as the vision stage publishes it, with evidence in the platform's evidence store.
    const [event] = await simulatedEvents(new EvidenceStore(cfg.EVIDENCE_DIR), Date.now() - 3_600_000);
    await p.bus.publish('events', [{ key: event!.camera.id, value: JSON.stringify(event) }]);
    expect(
      await waitFor(async () => (await asAdmin('/api/events?status=pending')).text.includes(event!.id), 10_000),
    ).toBe(true);

    const b = await browserNow();
    const page = await b.page();
    await page.goto(p.apiUrl);
    await page.waitForURL(/#\/login$/);
    await screenshot(page, 'login');
    await login(page, p.apiUrl, 'reviewer.e2e', password);
    await page.waitForURL(/#\/review$/);
    const item = page.locator(`.qitem[data-id="${event!.id}"]`);
    await item.click();
    const img = page.locator('section.detail img[data-role=threshold]');
    await expect
      .poll(
        () =>
          img.evaluate((i) =>
            (i as unknown as { complete: boolean }).complete
              ? (i as unknown as { naturalWidth: number }).naturalWidth
              : 0,
          ),
        { timeout: 10_000 },
      )
      .toBeGreaterThan(0);
    expect(await page.locator('section.detail').textContent()).toContain(event!.camera.postedLocation);
    await screenshot(page, 'review');

    await page.keyboard.press('c');
    expect(await waitFor(() => received.some((r) => r.body.includes(event!.id)), 30_000)).toBe(true);
    const got = received.find((r) => r.body.includes(event!.id))!;
    const expected = `sha256=${crypto.createHmac('sha256', SECRET).update(got.body).digest('hex')}`;
    expect(got.headers['x-signature']).toBe(expected);
    expect(got.headers['idempotency-key']).toBeTruthy();
    const body = JSON.parse(got.body) as { evidence?: { sha256: string }[]; code?: string };
    expect(body.code).toBe('0505');
    expect(body.evidence?.map((e) => e.sha256)).toEqual(
      expect.arrayContaining([event!.evidence.find((e) => e.role === 'threshold')!.sha256]),
    );

    // The decision is kept with who and when; the case shows as delivered.
    const decided = JSON.parse((await asAdmin(`/api/events/${encodeURIComponent(event!.id)}`)).text) as {
      status: string;
      review: { by: { username: string }; at: unknown };
    };
    expect(decided.status).toBe('confirmed');
    expect(decided.review.by.username).toBe('reviewer.e2e');
    await page.goto(`${p.apiUrl}/#/cases`);
    await expect
      .poll(
        async () => {
          await page.locator('.filters button').click();
          return page.locator('tr.case').first().getAttribute('data-delivery');
        },
        { timeout: 15_000 },
      )
      .toBe('delivered');
    await page.locator('tr.case').first().click();
    await page.locator('tr.detail-row').waitFor();
    await screenshot(page, 'cases');
    await page.close();
  });

  it('a staff member sees an alert arrive live and acknowledges it', async () => {
    const password = await user('staff.e2e', 'staff');
    const b = await browserNow();
    const page = await b.page();
    await login(page, p.apiUrl, 'staff.e2e', password);
    await page.waitForURL(/#\/alerts$/);
    await expect
      .poll(() => page.locator('[data-test=live]').getAttribute('class'), { timeout: 10_000 })
      .toBe('live on');
    await page.evaluate('window.marker = 7');

    // A manhole cover opens: a reading as ingest puts it on the bus.
    const device = `mh-e2e-${Date.now().toString(36)}`;
    const t0 = Date.now();
    const reading = (ts: number, open: number) => ({
      key: device,
      value: JSON.stringify({
        deviceId: device,
        district: 'xinhua',
        kind: 'manhole',
        ts,
        metrics: { open, tilt_deg: 0.3, water_cm: 10, battery_pct: 90, rssi_dbm: -80 },
      }),
    });
    await p.bus.publish('readings', [reading(t0 - 1000, 0)]);
    await p.bus.publish('readings', [reading(t0, 1)]);
    const row = page.locator(`tr.alert[data-device="${device}"]`);
    await row.waitFor({ timeout: 15_000 });
    // It arrived without a reload.
    expect(await page.evaluate('window.marker')).toBe(7);

    await row.locator('[data-action=ack]').click();
    await page.locator('textarea[name=note]').fill('已派人现场查看');
    await page.locator('[data-test=submit-action]').click();
    await expect.poll(() => row.getAttribute('data-state')).toBe('acknowledged');
    const list = JSON.parse((await asAdmin(`/api/alerts?device=${device}`)).text) as {
      items: { state: string; history: { type: string; by: string; note?: string }[] }[];
    };
    expect(list.items[0]!.state).toBe('acknowledged');
    // Attributed to the logged-in user, not to whatever a request body says.
    expect(list.items[0]!.history.find((h) => h.type === 'acknowledged')).toMatchObject({
      by: 'staff.e2e',
      note: '已派人现场查看',
    });

    // The device list shows the simulated fleet with its status.
    await page.goto(`${p.apiUrl}/#/devices`);
    await page.locator('tr.device[data-device="nz-xinhua-001"]').waitFor({ timeout: 15_000 });
    await page.close();
  });
});
