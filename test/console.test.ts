// The console in real headless Chromium against the platform's API started in-process (test/console-api.ts: the
// real API server, users and sessions, alerts with the live stream, review, cases with the built-in inbox, and the
// console's plugins; the test feeds the bus and the alert manager instead of sensors and cameras): every page, the
// live alert list, keyboard review, user administration, both languages, hundreds of items.
// test/console.e2e.test.ts runs the flows against the whole platform as `npm start` starts it.
import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnforcementEvent } from '../contracts/index.js';
import { launch, login, screenshot, type Browser } from './console-browser.js';
import { moreEvents, noiseReadings, signal, simulatedEvents } from './console-fixtures.js';
import { ADMIN_PASSWORD, startConsoleApi, type ConsoleApi } from './console-api.js';
import { tmpDir } from './helpers.js';

let p: ConsoleApi;
let browser: Browser;
let page: Page;
let events: EnforcementEvent[];
const ALERTS = 300;
const EVENTS = 300;

const RULES = [
  {
    kind: 'noise',
    ruleId: 'noise.gb3096.class4a',
    metric: 'laeq_db',
    name: { zh: '环境噪声超标（4a类区）', en: 'Ambient noise over the limit (class 4a)' },
    value: 73.1,
    level: 70,
  },
  {
    kind: 'dust',
    ruleId: 'dust.db13-2934.pm10',
    metric: 'pm10_ugm3',
    name: { zh: '施工扬尘PM10超标', en: 'Construction dust: PM10 over the limit' },
    value: 96,
    level: 80,
  },
  {
    kind: 'fume',
    ruleId: 'fume.gb18483',
    metric: 'fume_mgm3',
    name: { zh: '餐饮油烟超标', en: 'Cooking fume over the limit' },
    value: 2.6,
    level: 2,
  },
  {
    kind: 'drainage',
    ruleId: 'drainage.waterlogging',
    metric: 'level_cm',
    name: { zh: '道路积水', en: 'Standing water on the road' },
    value: 27,
    level: 25,
  },
  {
    kind: 'manhole',
    ruleId: 'manhole.tilt',
    metric: 'tilt_deg',
    name: { zh: '井盖倾斜', en: 'Manhole cover tilted' },
    value: 14,
    level: 10,
  },
] as const;
const SEVERITIES = ['warning', 'major', 'critical', 'info'] as const;

beforeAll(async () => {
  p = await startConsoleApi(tmpDir('console'));
  await p.addUser('wang.li', 'staff', '王丽');
  await p.addUser('zhao.min', 'reviewer', '赵敏');
  const now = Date.now();
  // Two events with evidence rendered from simulated scenes, then hundreds more in the queue behind them.
  events = await simulatedEvents(p.evidence, now - 8 * 3_600_000);
  await p.events.add(events);
  await p.events.add(moreEvents(events, EVENTS - events.length, now - 4 * 3_600_000));
  // A noise meter with a day of readings (online), and a manhole cover whose last will said offline.
  const readings = noiseReadings('nz-xinhua-001', 'xinhua', now);
  await p.store.write(readings);
  await p.bus.publish(
    'readings',
    readings.slice(-2).map((r) => ({ key: r.deviceId, value: JSON.stringify(r) })),
  );
  const cover = {
    deviceId: 'mh-jinghai-002',
    district: 'jinghai',
    kind: 'manhole' as const,
    ts: now - 600_000,
    metrics: { open: 0, tilt_deg: 0.4, water_cm: 12, battery_pct: 81, rssi_dbm: -92 },
  };
  await p.bus.publish('readings', [{ key: cover.deviceId, value: JSON.stringify(cover) }]);
  await p.bus.publish('status', [
    {
      key: cover.deviceId,
      value: JSON.stringify({
        deviceId: cover.deviceId,
        district: 'jinghai',
        kind: 'manhole',
        online: false,
        reason: 'connection lost',
        receivedAt: now,
      }),
    },
  ]);
  for (let i = 0; i < ALERTS; i++) {
    const r = RULES[i % RULES.length]!;
    const district = i % 3 ? 'jinghai' : 'xinhua';
    await p.alerts.handle(
      signal({
        ...r,
        deviceId: `${r.kind.slice(0, 2)}-${district}-${String(i).padStart(3, '0')}`,
        district,
        severity: SEVERITIES[i % SEVERITIES.length]!,
        ts: now - i * 60_000,
      }),
    );
  }
  browser = await launch();
  page = await browser.page();
});

afterAll(async () => {
  await browser?.close();
  await p?.close();
});

async function as(username: string, hash = ''): Promise<void> {
  await browser.context.clearCookies();
  await login(page, p.url, username, username === 'admin' ? ADMIN_PASSWORD : `${username}-password`);
  if (hash) await page.goto(`${p.url}/#/${hash}`);
  await page.locator('body[data-ready="1"]').waitFor({ state: 'attached' });
}

/** Requests to /api while `f` runs (to show lists are loaded in one go, not item by item). */
async function apiRequests(f: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const on = (r: Request) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith('/api/')) seen.push(`${r.method()} ${u.pathname}`);
  };
  page.on('request', on);
  try {
    await f();
  } finally {
    page.off('request', on);
  }
  return seen;
}

const rows = (sel: string) => page.locator(sel);

describe('console (stand-in platform)', () => {
  it('serves the login page in Chinese by default; a wrong password is refused; English on a click', async () => {
    await browser.context.clearCookies();
    await page.goto(p.url);
    await page.waitForURL(/#\/login$/);
    expect(await page.locator('html').getAttribute('lang')).toBe('zh-CN');
    expect(await page.locator('form.login h1').textContent()).toBe('登录');
    await screenshot(page, 'login', { onlyIfMissing: true });
    await page.locator('input[name=username]').fill('wang.li');
    await page.locator('input[name=password]').fill('not-the-password');
    await page.locator('form.login button[type=submit]').click();
    await expect.poll(() => page.locator('form.login .error').textContent()).toBe('用户名或密码错误');
    expect(page.url()).toMatch(/#\/login$/);
    await page.locator('[data-test=lang]').click();
    expect(await page.locator('form.login h1').textContent()).toBe('Log in');
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    await page.locator('[data-test=lang]').click();
    expect(await page.locator('form.login h1').textContent()).toBe('登录');
  });

  it('staff: hundreds of alerts in pages, filtered; a new alert arrives live; acknowledge and resolve with a note', async () => {
    const requests = await apiRequests(() => as('wang.li'));
    expect(page.url()).toMatch(/#\/alerts$/);
    await page.locator('tr.alert').first().waitFor();
    // One list request, not one per alert.
    expect(requests.filter((r) => r.startsWith('GET /api/alerts')).length).toBeLessThanOrEqual(2);
    expect(await rows('tr.alert').count()).toBe(50);
    expect(await page.locator('.pager-text').textContent()).toContain(`共 ${ALERTS} 条`);
    // Critical first.
    expect(await rows('tr.alert').first().locator('.badge').first().textContent()).toBe('紧急');

    await page.locator('select[name=severity]').selectOption('critical');
    await expect.poll(() => rows('tr.alert').count()).toBe(ALERTS / 4 > 50 ? 50 : ALERTS / 4);
    expect(new Set(await rows('tr.alert td:first-child').allTextContents())).toEqual(new Set(['紧急']));
    await page.locator('select[name=district]').selectOption('jinghai');
    await expect
      .poll(
        async () =>
          new Set(
            await rows('tr.alert').evaluateAll((els) =>
              els.map((e) => String(e.getAttribute('data-device')).split('-')[1]),
            ),
          ),
      )
      .toEqual(new Set(['jinghai']));
    await page.locator('select[name=kind]').selectOption('manhole');
    await expect
      .poll(async () => (await rows('tr.alert').allTextContents()).every((t) => t.includes('井盖')))
      .toBe(true);
    for (const f of ['severity', 'district', 'kind']) await page.locator(`select[name=${f}]`).selectOption('');
    await expect.poll(() => rows('tr.alert').count()).toBe(50);

    // A cover is opened somewhere: the alert appears without reloading the page.
    await page.evaluate('window.marker = 42');
    await expect.poll(() => page.locator('[data-test=live]').getAttribute('class')).toBe('live on');
    const a = (await p.alerts.handle(
      signal({
        deviceId: 'mh-xinhua-live',
        district: 'xinhua',
        kind: 'manhole',
        ruleId: 'manhole.open',
        metric: 'open',
        severity: 'critical',
        value: 1,
        level: 0.5,
        name: { zh: '井盖开启或移位', en: 'Manhole cover opened or displaced' },
      }),
    ))!;
    const row = page.locator(`tr.alert[data-id="${a.id}"]`);
    await row.waitFor({ timeout: 10_000 });
    expect(await row.getAttribute('class')).toContain('fresh');
    expect(await page.evaluate('window.marker')).toBe(42);
    await screenshot(page, 'alerts');

    await row.locator('[data-action=ack]').click();
    await page.locator('textarea[name=note]').fill('已派人现场查看');
    await page.locator('[data-test=submit-action]').click();
    await expect.poll(() => row.getAttribute('data-state')).toBe('acknowledged');
    const acked = (await p.alerts.get(a.id))!;
    expect(acked.state).toBe('acknowledged');
    // Attributed to the signed-in user.
    expect(acked.history.at(-1)).toMatchObject({ type: 'acknowledged', by: 'wang.li', note: '已派人现场查看' });

    // The history shows who did what when.
    await row.locator('button.name').click();
    await expect.poll(() => page.locator('tr.detail-row ol.history').textContent()).toContain('已派人现场查看');

    await row.locator('[data-action=resolve]').click();
    await page.locator('textarea[name=note]').fill('井盖已复位');
    await page.locator('[data-test=submit-action]').click();
    // The list shows open alerts: the resolved one leaves it.
    await expect.poll(() => row.count()).toBe(0);
    expect((await p.alerts.get(a.id))!.state).toBe('resolved');
    // A change made elsewhere arrives through the stream too.
    const other = (await page.locator('tr.alert[data-state=firing]').first().getAttribute('data-id'))!;
    await p.alerts.acknowledge(other, 'someone-else');
    await expect
      .poll(() => page.locator(`tr.alert[data-id="${other}"]`).getAttribute('data-state'))
      .toBe('acknowledged');
  });

  it('staff: the device list shows online and offline; a device page charts readings with the threshold lines', async () => {
    await page.goto(`${p.url}/#/devices`);
    await page.locator('tr.device').first().waitFor();
    // Hundreds of devices (those of the alerts too), in pages of 100.
    expect(await rows('tr.device').count()).toBe(100);
    await page.locator('select[name=status]').selectOption('online');
    await expect.poll(() => rows('tr.device').count()).toBe(1);
    expect(await page.locator('tr.device[data-device="nz-xinhua-001"]').getAttribute('data-online')).toBe('true');
    await page.locator('select[name=status]').selectOption('offline');
    await page.locator('input[name=q]').fill('mh-jinghai');
    await expect.poll(() => rows('tr.device').count()).toBe(1);
    expect(await page.locator('tr.device[data-device="mh-jinghai-002"]').textContent()).toContain('设备断开连接');
    await page.locator('select[name=status]').selectOption('');
    await page.locator('input[name=q]').fill('');
    await page.locator('select[name=district]').selectOption('xinhua');
    await expect
      .poll(async () => (await rows('tr.device').allTextContents()).every((t) => t.includes('xinhua')))
      .toBe(true);
    await screenshot(page, 'devices');
    await page.locator('select[name=district]').selectOption('');
    await page.locator('input[name=q]').fill('nz-xinhua-001');

    await page.locator('tr.device[data-device="nz-xinhua-001"] a').click();
    await page.locator('svg.chart path.series').waitFor();
    // A day of readings, one a minute, reduced to pixel columns but all counted.
    expect(Number(await page.locator('svg.chart').getAttribute('data-points'))).toBeGreaterThan(1400);
    // GB 3096 class 4a for the demo's street meters (group noise-class-4a): one line, 70 by day and 55 at night.
    expect(await page.locator('svg.chart path.threshold').count()).toBe(1);
    expect(await page.locator('.chart-info').textContent()).toContain('昼 70 / 夜 55');
    expect(await page.locator('.chart-info').textContent()).toContain('GB 3096-2008 class 4a');
    await screenshot(page, 'device');
    await page.locator('button.tab[data-metric=lmax_db]').click();
    await expect.poll(() => page.locator('.chart-info').textContent()).toContain('GB 3096-2008: at night Lmax');
    // An anomaly alert on the metric: the band its model expected is drawn over the readings, saying which model.
    expect(await page.locator('svg.chart rect.expected-band').count()).toBe(0);
    await p.alerts.handle(
      signal({
        deviceId: 'nz-xinhua-001',
        district: 'xinhua',
        kind: 'noise',
        ruleId: 'anomaly.lmax_db',
        category: 'anomaly',
        metric: 'lmax_db',
        severity: 'info',
        value: 95,
        level: 0.8,
        ts: Date.now() - 2 * 3_600_000,
        expected: { model: 'weekly', low: 58, high: 71 },
        name: { zh: '读数异常：lmax_db', en: 'Unusual lmax_db' },
      }),
    );
    await page.reload();
    await page.locator('button.tab[data-metric=lmax_db]').click();
    const band = page.locator('svg.chart rect.expected-band');
    await expect.poll(() => band.count()).toBe(1);
    expect(await band.getAttribute('data-band')).toBe('异常检测的预期范围（偏离日/周规律）：58 – 71');
    expect(await page.locator('main, body').first().textContent()).toContain(
      '异常检测的预期范围（偏离日/周规律）：58 – 71',
    );
    await screenshot(page, 'device-anomaly-band');
  });

  it('reviewer: the queue oldest first with its evidence; C confirms, R 2 Enter rejects, J/K move; decisions show who and when', async () => {
    const requests = await apiRequests(() => as('zhao.min'));
    expect(page.url()).toMatch(/#\/review$/);
    await page.locator('.qitem').first().waitFor();
    expect(requests.filter((r) => r.startsWith('GET /api/events/')).length).toBe(0);
    expect(await page.locator('.qitem').count()).toBe(50);
    expect(await page.locator('button.tab[data-status=pending] .count').textContent()).toBe(String(EVENTS));
    const first = events[0]!;
    expect(await page.locator('.qitem').first().getAttribute('data-id')).toBe(first.id);
    // The evidence frames (boxes and zone drawn in), the crop, the plate, dwell, camera and location.
    for (const role of ['first-seen', 'threshold', 'last', 'crop']) {
      const img = page.locator(`section.detail img[data-role=${role}]`);
      await expect
        .poll(() =>
          img.evaluate((i) =>
            (i as unknown as { complete: boolean }).complete
              ? (i as unknown as { naturalWidth: number }).naturalWidth
              : 0,
          ),
        )
        .toBeGreaterThan(0);
    }
    const detail = (await page.locator('section.detail').textContent())!;
    expect(detail).toContain(first.plate!.text);
    expect(detail).toContain(first.camera.postedLocation);
    expect(detail).toContain(first.camera.id);
    expect(detail).toContain(first.camera.gridCell);
    expect(detail).toContain(`${Math.floor(first.dwellS / 60)} 分`);
    expect(await page.locator('[data-test=shortcuts]').textContent()).toMatch(
      /C\s*确认.*R\s*驳回.*1–4\s*选择原因.*J\s*下一条.*K\s*上一条/,
    );
    await screenshot(page, 'review', { onlyIfMissing: true });

    // J and K move through the queue.
    await page.keyboard.press('j');
    await expect.poll(() => page.locator('.qitem.active').getAttribute('data-id')).toBe(events[1]!.id);
    await page.keyboard.press('k');
    await expect.poll(() => page.locator('.qitem.active').getAttribute('data-id')).toBe(first.id);

    // Z enlarges the evidence; Esc closes it.
    await page.keyboard.press('z');
    await page.locator('.lightbox img').waitFor();
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('.lightbox').count()).toBe(0);

    await page.keyboard.press('c');
    await expect.poll(async () => (await p.events.get(first.id))!.status).toBe('confirmed');
    expect((await p.events.get(first.id))!.review).toMatchObject({
      decision: 'confirm',
      by: { username: 'zhao.min', role: 'reviewer' },
    });
    // The decision is stored first, then the case is filed and its id recorded with the event.
    await expect.poll(async () => (await p.events.get(first.id))!.caseId).toBeTruthy();
    const caseId = (await p.events.get(first.id))!.caseId!;
    await expect.poll(() => page.locator('.toast.ok').last().textContent()).toBe(`已确认，已生成案件 ${caseId}`);
    await expect.poll(() => page.locator('.qitem.active').getAttribute('data-id')).toBe(events[1]!.id);
    expect(await page.locator('button.tab[data-status=pending] .count').textContent()).toBe(String(EVENTS - 1));

    await page.keyboard.press('r');
    await page.keyboard.press('2');
    await expect.poll(() => page.locator('label.reason.chosen').textContent()).toContain('许可/合规');
    await screenshot(page, 'review-reject', { toasts: true });
    await page.locator('textarea[name=note]').fill('临时占道许可 2026-118');
    await page.keyboard.press('Enter');
    await expect.poll(async () => (await p.events.get(events[1]!.id))!.status).toBe('rejected');
    expect((await p.events.get(events[1]!.id))!.review).toMatchObject({
      decision: 'reject',
      reason: 'permitted',
      note: '临时占道许可 2026-118',
      by: { username: 'zhao.min' },
    });

    // Enter without a reason rejects nothing.
    await page.keyboard.press('r');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Escape');
    expect((await p.events.list({ status: 'pending', limit: 1 })).total).toBe(EVENTS - 2);

    // What was decided, by whom and when.
    await page.locator('button.tab[data-status=rejected]').click();
    await page.locator('.qitem').first().waitFor();
    const decided = (await page.locator('[data-test=decision]').textContent())!;
    expect(decided).toContain('许可/合规');
    expect(decided).toContain('赵敏（审核员）');
    expect(decided).toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    // A decided event cannot be decided again from the keyboard.
    await page.keyboard.press('c');
    await page.waitForTimeout(200);
    expect((await p.events.list({ status: 'pending', limit: 1 })).total).toBe(EVENTS - 2);
    expect((await p.events.get(events[1]!.id))!.status).toBe('rejected');
    await page.locator('button.tab[data-status=pending]').click();
  });

  it('reviewer: the case list shows delivery status, and the built-in inbox what it received', async () => {
    await page.goto(`${p.url}/#/cases`);
    await page.locator('tr.case').first().waitFor();
    await expect
      .poll(async () => {
        await page.locator('.filters button').click();
        return page.locator('tr.case').first().getAttribute('data-delivery');
      })
      .toBe('delivered');
    const row = (await page.locator('tr.case').first().textContent())!;
    expect(row).toContain('违法停放');
    expect(row).toContain('0505');
    expect(row).toContain('已送达');
    await page.locator('tr.case').first().click();
    expect(await page.locator('tr.detail-row').textContent()).toContain(events[0]!.evidence[0]!.sha256);
    await screenshot(page, 'cases', { onlyIfMissing: true });
    await page.goto(`${p.url}/#/inbox`);
    await page.locator('tr.inbox-item').first().waitFor();
    expect(await page.locator('tr.inbox-item').first().textContent()).toContain('0505');
    await screenshot(page, 'case-inbox');
    // Not for reviewers: the users page and the alerts.
    await page.goto(`${p.url}/#/users`);
    await expect.poll(() => page.locator('#view').textContent()).toContain('您的角色无权查看此页面');
    expect(await page.locator('#top nav a').allTextContents()).toEqual([
      '审核',
      '告知与复查',
      '当事人',
      '案件',
      '案件收件箱',
      '统计',
      '地图',
    ]);
  });

  it('admin: creates a user, sets the role, disables the user', async () => {
    await as('admin', 'users');
    await page.locator('tr.user').first().waitFor();
    await page.locator('form.create input[name=username]').fill('li.qiang');
    await page.locator('form.create input[name=displayName]').fill('李强');
    await page.locator('form.create select[name=role]').selectOption('staff');
    await page.locator('form.create input[name=password]').fill('initial-pass-123');
    await page.locator('form.create button[type=submit]').click();
    const row = page.locator('tr.user[data-username="li.qiang"]');
    await row.waitFor();
    const userRec = async () => (await p.users.list()).find((u) => u.username === 'li.qiang')!;
    expect(await userRec()).toMatchObject({ role: 'staff', displayName: '李强', disabled: false, createdBy: 'admin' });
    expect((await p.users.login('li.qiang', 'initial-pass-123', '127.0.0.1')).ok).toBe(true);
    await row.locator('select[name=role]').selectOption('reviewer');
    await expect.poll(async () => (await userRec()).role).toBe('reviewer');
    await page.locator('tr.user[data-username="li.qiang"] [data-action=disable]').click();
    await expect.poll(async () => (await userRec()).disabled).toBe(true);
    await expect
      .poll(() => page.locator('tr.user[data-username="li.qiang"]').getAttribute('class'))
      .toContain('disabled');
    await screenshot(page, 'users');
  });

  it('every page has its labels in both languages (no dictionary key shows)', async () => {
    await as('admin');
    for (const lang of ['zh-CN', 'en']) {
      for (const hash of [
        'alerts',
        'devices',
        'devices/nz-xinhua-001',
        'review',
        'cases',
        'inbox',
        'users',
        'account',
      ]) {
        await page.goto(`${p.url}/#/${hash}`);
        await page.locator('.page').waitFor();
        await page.waitForTimeout(100);
        const text = (await page.locator('body').textContent())!;
        // A key such as "review.reason.other" would show if a label were missing.
        expect(text, `${lang} ${hash}`).not.toMatch(
          /\b(common|nav|alerts?|devices|review|cases|inbox|users|account|role|kind|severity|metric|agg|login)\.[a-z]/,
        );
        // Headings and navigation are in the chosen language (data such as zone names stay as they are).
        const heading = (await page.locator('.page-head h1').first().textContent())!;
        expect(
          /[\u4e00-\u9fff]/.test(heading + (await page.locator('#top nav').textContent())),
          `${lang} ${hash}: ${heading}`,
        ).toBe(lang === 'zh-CN');
      }
      if (lang === 'zh-CN') await page.locator('[data-test=lang]').click();
    }
    await page.goto(`${p.url}/#/alerts`);
    await page.locator('tr.alert').first().waitFor();
    await screenshot(page, 'alerts-en');
    await page.locator('[data-test=lang]').click();
    expect(await page.locator('#top nav a').first().textContent()).toBe('告警');
  });

  it('an expired session goes back to the login page, and returns to the page after logging in', async () => {
    await as('wang.li', 'devices');
    await page.locator('tr.device').first().waitFor();
    // Twelve hours and a bit without a request: the session has ended.
    p.clock.offsetMs = 12.5 * 3_600_000;
    await page.goto(`${p.url}/#/devices/nz-xinhua-001`);
    await page.waitForURL(/#\/login$/);
    await page.locator('input[name=username]').fill('wang.li');
    await page.locator('input[name=password]').fill('wang.li-password');
    await page.locator('form.login button[type=submit]').click();
    await page.waitForURL(/#\/devices\/nz-xinhua-001$/);
    await page.locator('svg.chart').waitFor();
  });

  it('no page error or failed script on the way', () => {
    expect(browser.problems).toEqual([]);
  });
});

describe('console served as static files', () => {
  it('answers / with the page and security headers, assets with ETag and gzip, unknown files 404', async () => {
    const index = await fetch(`${p.url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/text\/html/);
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await index.text()).toContain('/console/app.js');
    const js = await fetch(`${p.url}/console/app.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    const etag = js.headers.get('etag')!;
    expect((await fetch(`${p.url}/console/app.js`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await fetch(`${p.url}/console/nope.js`)).status).toBe(404);
    expect((await fetch(`${p.url}/console/../package.json`)).status).toBe(404);
    expect((await fetch(`${p.url}/console/%2e%2e/package.json`)).status).toBe(404);
  });
});
