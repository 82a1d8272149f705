// The device registry's flow in real headless Chromium against the real platform (embedded broker with device
// accounts, ingest, detectors, alert service, cases): an admin registers a manhole cover on the map page with a click
// on its place, issues its MQTT credentials there, the device publishes "cover open" with them, and the alert
// appears on the map at the device's place, carrying its grid cell, as does the case it raises. The drainage team on
// duty gets the robot message (a real local HTTP receiver), acknowledges from its link, and the escalation to the next
// person does not fire. The audit page lists the registration and exports it as CSV.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAppConfig } from '../app/config.js';
import { startPlatform } from '../app/platform.js';
import { silentLogger } from '../runtime/log.js';
import { launch, login, screenshot, type Browser } from './console-browser.js';
import { tmpDir } from './helpers.js';

const ADMIN_PASSWORD = 'map-e2e-admin-pw';
const dataDir = tmpDir('map-e2e');

// The team's group robot (钉钉 / 企业微信 style): every message it gets, as posted.
const robotMessages: { markdown: { text: string }; at: { atMobiles: string[] } }[] = [];
const robot = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    robotMessages.push(JSON.parse(body) as (typeof robotMessages)[number]);
    res.setHeader('content-type', 'application/json');
    res.end('{"errcode":0,"errmsg":"ok"}');
  });
});
await new Promise<void>((r) => robot.listen(0, '127.0.0.1', r));
const dutyFile = path.join(dataDir, 'duty.json');
fs.writeFileSync(
  dutyFile,
  JSON.stringify({
    timeZone: 'Asia/Shanghai',
    robots: { drainage: { url: `http://127.0.0.1:${(robot.address() as { port: number }).port}/robot/send` } },
    rosters: [
      {
        district: 'xinhua',
        team: 'drainage',
        robot: 'drainage',
        people: [
          { name: '赵敏', phone: '13800000003' },
          { name: '陈刚', phone: '13800000004' },
        ],
      },
    ],
    rules: [{ team: 'drainage', kinds: ['manhole'], severities: ['info', 'warning', 'major', 'critical'] }],
    // Fifteen seconds instead of minutes, so the test can see the escalation not fire.
    escalateAfterMinutes: { critical: 0.25, major: 0.25, warning: 0.25, info: 0.25 },
    delivery: { attempts: 5, retryBaseMs: 200, retryMaxMs: 1000, timeoutMs: 5000 },
  }),
);
const cfg = loadAppConfig({
  PORT: '0',
  MQTT_PORT: '0',
  HJ212_PORT: 'off',
  HOST: '127.0.0.1',
  DATA_DIR: dataDir,
  SIMULATE: '0',
  PLATES: '0',
  ADMIN_PASSWORD,
  DUTY_FILE: dutyFile,
});
const p = await startPlatform(cfg, silentLogger);
let browser: Browser | null = null;

const asAdmin = await (async () => {
  const r = await fetch(`${p.apiUrl}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
  });
  const cookie = r.headers.get('set-cookie')!.split(';')[0]!;
  return async (path: string) => (await fetch(`${p.apiUrl}${path}`, { headers: { cookie } })).json();
})();

afterAll(async () => {
  await browser?.close();
  await p.stop();
  robot.close();
});

describe('map page on the real platform', () => {
  it('an admin registers a device on the map, it publishes with the credentials issued there, and its alert appears at its place', async () => {
    browser = await launch();
    const page = await browser.page();
    await login(page, p.apiUrl, 'admin', ADMIN_PASSWORD);
    await page.goto(`${p.apiUrl}/#/map`);
    const map = page.locator('[data-test=map]');
    await map.locator('.leaflet-overlay-pane path').first().waitFor();
    // The demo's grid and district boundaries are drawn without any base map.
    expect(await map.locator('.leaflet-overlay-pane path').count()).toBeGreaterThanOrEqual(42);
    expect(await map.locator('.leaflet-tile').count()).toBe(0);

    // A click on the map gives the place.
    const box = (await map.boundingBox())!;
    await page.mouse.click(box.x + box.width * 0.3, box.y + box.height * 0.5);
    const lat = Number(await page.locator('[data-field=lat]').inputValue());
    const lon = Number(await page.locator('[data-field=lon]').inputValue());
    expect(lat).toBeGreaterThan(31.85);
    await page.locator('[data-field=id]').fill('mh-e2e-001');
    await page.locator('[data-field=kind]').selectOption('manhole');
    await page.locator('[data-field=district]').fill('xinhua');
    await page.locator('[data-field=address]').fill('新华路88号人行道');
    await page.locator('[data-test=device-save]').click();
    await expect.poll(() => page.locator('[data-field=gridCell]').inputValue()).toMatch(/^3205820\d{8}$/);
    const gridCell = await page.locator('[data-field=gridCell]').inputValue();
    const registered = ((await asAdmin('/api/devices')) as { id: string; gridCell: string; location: unknown }[]).find(
      (d) => d.id === 'mh-e2e-001',
    );
    expect(registered).toMatchObject({ gridCell, location: { lat, lon } });

    await page.locator('[data-test=device-credentials]').click();
    const password = (await page.locator('[data-test=cred-password]').textContent())!;
    expect(password.length).toBeGreaterThan(20);

    // The device publishes with its own account: the broker re-reads the credentials file within seconds.
    const client = await (async () => {
      for (let i = 0; ; i++) {
        try {
          return await mqtt.connectAsync(p.mqttUrl!, {
            username: 'mh-e2e-001',
            password,
            reconnectPeriod: 0,
            connectTimeout: 3000,
          });
        } catch (e) {
          if (i >= 20) throw e;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    })();
    await client.publishAsync(
      'city/v1/xinhua/manhole/mh-e2e-001/readings',
      JSON.stringify({ ts: new Date().toISOString(), metrics: { open: 1, tilt_deg: 0 } }),
      { qos: 1 },
    );
    await client.endAsync();

    type AlertItem = {
      id: string;
      deviceId: string;
      ruleId: string;
      place?: { gridCell: string; location: { lat: number; lon: number } };
    };
    let alert: AlertItem | undefined;
    await expect
      .poll(
        async () =>
          (alert = ((await asAdmin('/api/alerts?state=open')) as { items: AlertItem[] }).items.find(
            (a) => a.deviceId === 'mh-e2e-001' && a.ruleId === 'manhole.open',
          )),
        { timeout: 30_000 },
      )
      .toBeTruthy();
    expect(alert!.place).toMatchObject({ gridCell, location: { lat, lon } });

    // The person on duty for drainage in xinhua gets the robot message, @-mentioned by phone, with a signed link...
    await expect.poll(() => robotMessages.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(1);
    const messagedAt = Date.now();
    const message = robotMessages[0]!;
    expect(message.at.atMobiles).toEqual(['13800000003']);
    expect(message.markdown.text).toContain('mh-e2e-001');
    const link = /\/duty\/ack\/[A-Za-z0-9._~-]+/.exec(message.markdown.text)?.[0];
    expect(link).toBeTruthy();
    // ... opens it on the phone (no console session) and acknowledges with its button.
    const phone = await browser.page();
    await phone.goto(`${p.apiUrl}${link}`);
    await phone.locator('form button[type=submit]').click();
    await expect
      .poll(async () => ((await asAdmin(`/api/alerts/${alert!.id}`)) as { state: string }).state, { timeout: 10_000 })
      .toBe('acknowledged');
    // The escalation (15 s here) to the next person does not fire: nobody else is called.
    await new Promise((r) => setTimeout(r, Math.max(0, messagedAt + 20_000 - Date.now())));
    expect(robotMessages).toHaveLength(1);

    // On the map (refreshed every 10 s): the alert's ring is drawn where the device's dot is.
    const ring = map.locator(`path.map-alert-${alert!.id}`);
    await ring.waitFor({ timeout: 20_000 });
    const dot = map.locator('path.map-device-mh-e2e-001');
    const centre = async (l: typeof ring) => {
      const b = (await l.boundingBox())!;
      return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
    };
    const [a, d] = [await centre(ring), await centre(dot)];
    expect(Math.abs(a.x - d.x)).toBeLessThan(2);
    expect(Math.abs(a.y - d.y)).toBeLessThan(2);
    // ... which is where the admin clicked.
    expect(Math.abs(d.x - (box.x + box.width * 0.3))).toBeLessThan(3);
    await screenshot(page, 'map');

    // The case the alert raised carries the place too.
    await expect
      .poll(
        async () =>
          (
            (await asAdmin('/api/cases')) as { items: { source: { id: string }; gridCell: string | null }[] }
          ).items.find((c) => c.source.id === alert!.id)?.gridCell,
        { timeout: 20_000 },
      )
      .toBe(gridCell);

    // The audit page lists the registration and the credentials, by whom.
    await page.goto(`${p.apiUrl}/#/audit`);
    await page.locator('tr[data-action=device_created]').first().waitFor();
    expect(await page.locator('tr[data-action=device_created]').first().textContent()).toContain('mh-e2e-001');
    expect(await page.locator('tr[data-action=device_credentials_issued]').count()).toBe(1);
    expect(browser.problems).toEqual([]);
  }, 120_000);
});
