// The statistics page in real headless Chromium against the real API, stores and guard: its table and the Excel file
// it exports agree with GET /api/stats; several devices' 15-minute aggregates in one uPlot chart; the PDF report of
// the same day prints (read back with pdftotext); the page in English too.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import ExcelJS from 'exceljs';
import type { Page } from 'playwright-core';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertManager } from '../alerts/manager.js';
import { DuckDbAlertStore } from '../alerts/store.js';
import { buildApi } from '../api/server.js';
import { MemoryBus } from '../bus/memory.js';
import { consolePlugin } from '../console/plugin.js';
import { DeviceDirectory, deviceRoutes } from '../console/devices-route.js';
import { exportRoutes } from '../exports/routes.js';
import { reportRoutes } from '../reports/routes.js';
import { EventStore } from '../review/store.js';
import { silentLogger } from '../runtime/log.js';
import { storeSources, statsRoutes } from '../stats/index.js';
import type { Stats } from '../stats/stats.js';
import { DuckDbStore } from '../store/duckdb/store.js';
import { authPlugin, startUsers } from '../users/index.js';
import { EvidenceStore } from '../vision/evidence/store.js';
import { chromiumPath, launch, login, screenshot, type Browser } from './console-browser.js';
import { noiseReadings, signal, simulatedEvents } from './console-fixtures.js';
import { tmpDir } from './helpers.js';

const PASSWORD = 'stats-staff-password';

describe('statistics page in Chromium', () => {
  const dir = tmpDir('console-stats');
  const stops: (() => Promise<unknown>)[] = [];
  let url = '';
  let browser: Browser;
  let page: Page;
  // The page shows one day in the browser's zone, Asia/Shanghai, and the fixtures span the six hours before `now`.
  // In the first seven hours of a Shanghai day (16:00-23:00 UTC) those hours would straddle midnight: the fixtures
  // then end a minute before it, and the page shows that whole day instead of the new one.
  const SHANGHAI = 8 * 3_600_000;
  const sinceMidnight = (Date.now() + SHANGHAI) % 86_400_000;
  const now = sinceMidnight >= 7 * 3_600_000 ? Date.now() : Date.now() - sinceMidnight - 60_000;
  const today = new Date(now + SHANGHAI).toISOString().slice(0, 10);

  beforeAll(async () => {
    const bus = new MemoryBus();
    stops.push(() => bus.close());
    const store = await DuckDbStore.open({ file: path.join(dir, 'city.duckdb') });
    stops.push(() => store.close());
    const alertStore = await DuckDbAlertStore.open(path.join(dir, 'alerts.duckdb'));
    stops.push(() => alertStore.close());
    const alerts = new AlertManager(alertStore);
    const events = await EventStore.open(path.join(dir, 'events.duckdb'));
    stops.push(() => events.close());
    const evidence = new EvidenceStore(path.join(dir, 'evidence'));
    const u = await startUsers({
      dataDir: dir,
      logger: silentLogger,
      adminPassword: 'stats-admin-password',
      kdf: { ln: 10, r: 8, p: 1 },
    });
    stops.push(() => u.close());
    await u.users.create(
      { username: 'wang.li', password: PASSWORD, role: 'staff', displayName: '王莉' },
      'admin',
      '127.0.0.1',
    );
    const directory = await DeviceDirectory.start({ bus, logger: silentLogger, alerts });
    stops.push(() => directory.close());

    // Two noise meters in two districts with six hours of readings, alerts of both, events of the cameras.
    for (const [id, district] of [
      ['nz-xinhua-001', 'xinhua'],
      ['nz-jinghai-002', 'jinghai'],
    ] as const) {
      const rs = noiseReadings(id, district, now - 60_000, 6);
      await store.write(rs);
      await bus.publish('readings', [
        { key: id, value: JSON.stringify({ ...rs.at(-1), metrics: rs.at(-1)!.metrics }) },
      ]);
    }
    const t = now - 2 * 3_600_000;
    await alerts.handle(
      signal({ deviceId: 'nz-xinhua-001', district: 'xinhua', kind: 'noise', ruleId: 'noise.day', ts: t }),
    );
    await alerts.handle(
      signal({ deviceId: 'nz-jinghai-002', district: 'jinghai', kind: 'noise', ruleId: 'noise.day', ts: t }),
    );
    await alerts.handle(
      signal({
        deviceId: 'nz-jinghai-002',
        district: 'jinghai',
        kind: 'noise',
        ruleId: 'noise.night',
        ts: t + 60_000,
        severity: 'major',
      }),
    );
    const found = await simulatedEvents(evidence, now - 3 * 3_600_000);
    await events.add(found);
    await events.decide(found[0]!.id, {
      decision: 'reject',
      reason: 'permitted',
      by: { username: 'zhao', role: 'reviewer' },
      at: now - 3_600_000,
    });

    const sources = storeSources({ alerts: alertStore, events });
    const app = await buildApi({
      store,
      registry: new Registry(),
      logger: silentLogger,
      alerts,
      events,
      evidence,
      plugins: [
        async (a) => {
          await a.register(authPlugin, { users: u.users });
          await a.register(consolePlugin);
          await a.register(deviceRoutes, { directory });
          await a.register(statsRoutes, { sources });
          await a.register(exportRoutes, { readings: store, alerts: alertStore, events, stats: { sources } });
          await a.register(reportRoutes, { sources, chromium: chromiumPath(), timeZone: 'Asia/Shanghai' });
        },
      ],
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    stops.push(() => app.close());
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    browser = await launch();
    stops.push(() => browser.close());
    page = await browser.page();
    await login(page, url, 'wang.li', PASSWORD);
  }, 120_000);

  afterAll(async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function apiStats(group: string): Promise<Stats> {
    const from = new Date(`${today}T00:00:00+08:00`).toISOString();
    const to = new Date(Date.parse(from) + 86_400_000).toISOString();
    const r = await page.context().request.get(`${url}/api/stats?group=${group}&from=${from}&to=${to}`);
    expect(r.status()).toBe(200);
    return (await r.json()) as Stats;
  }

  it('shows the counts of the API by district and by type, and exports the same in Excel', async () => {
    await page.goto(`${url}/#/stats?from=${today}&to=${today}&group=district`);
    await page.locator(`[data-test=stats-table][data-loaded="district:${today}:${today}"]`).waitFor();
    const api = await apiStats('district');
    expect(api.total.alerts.raised).toBe(3);
    expect(api.total.events).toMatchObject({ detected: 2, rejected: 1 });
    const shown = await page
      .locator('[data-test=row]')
      .evaluateAll((rows) =>
        rows.map((r) => [
          r.getAttribute('data-key'),
          r.querySelector('[data-col=alerts]')!.textContent,
          r.querySelector('[data-col=detected]')!.textContent,
        ]),
      );
    expect(shown).toEqual(api.rows.map((r) => [r.key, String(r.alerts.raised), String(r.events.detected)]));
    expect(await page.locator('[data-test=total-row] [data-col=alerts]').textContent()).toBe('3');
    // The chart of the groups is uPlot's canvas.
    await page.locator('[data-test=group-chart] canvas').first().waitFor();

    const download = page.waitForEvent('download');
    await page.locator('[data-test=export-xlsx]').click();
    const file = path.join(dir, 'stats.xlsx');
    await (await download).saveAs(file);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(file);
    const rows: unknown[][] = [];
    wb.worksheets[0]!.eachRow((r) => rows.push((r.values as unknown[]).slice(1)));
    expect(rows.slice(1).map((r) => [r[0], r[2], r[4]])).toEqual([
      ...api.rows.map((r) => [r.key, r.alerts.raised, r.events.detected]),
      ['合计 total', 3, 2],
    ]);

    await page.locator('[data-test=group]').selectOption('type');
    await page.locator('[data-test=apply]').click();
    await page.locator(`[data-test=stats-table][data-loaded="type:${today}:${today}"]`).waitFor();
    const byType = await apiStats('type');
    const typeRows = await page
      .locator('[data-test=row]')
      .evaluateAll((rows) =>
        rows.map((r) => [r.getAttribute('data-key'), r.querySelector('[data-col=rejected]')!.textContent]),
      );
    expect(typeRows.map((r) => r[0])).toEqual(byType.rows.map((r) => r.key));
    expect(typeRows.find((r) => r[1]!.startsWith('1'))?.[1]).toContain('已许可');
  });

  it('draws several devices as 15-minute aggregates in one chart', async () => {
    const chart = page.locator('[data-test=readings-chart]');
    await chart.locator('canvas').first().waitFor();
    expect(await chart.getAttribute('data-series')).toBe('2');
    // Six hours of readings: 24 or 25 quarter hours (the first may be cut).
    expect(Number(await chart.getAttribute('data-points'))).toBeGreaterThanOrEqual(24);
    expect(await chart.locator('.u-legend').textContent()).toContain('nz-jinghai-002');
    await screenshot(page, 'stats', { onlyIfMissing: true });
    expect(browser.problems).toEqual([]);
  });

  it('prints the daily report of the day shown', async () => {
    const href = await page.locator('[data-test=report-daily]').getAttribute('href');
    expect(href).toBe(`/api/reports/daily.pdf?date=${today}`);
    const r = await page.context().request.get(`${url}${href}`);
    expect(r.status()).toBe(200);
    const pdf = path.join(dir, 'daily.pdf');
    fs.writeFileSync(pdf, await r.body());
    const text = execFileSync(process.env.PDFTOTEXT ?? 'pdftotext', ['-layout', pdf, '-'], { encoding: 'utf8' });
    expect(text).toContain('城市感知与非现场执法日报');
    expect(text).toMatch(/合计\s+3\s/);
  });

  it('speaks English', async () => {
    await page.evaluate("localStorage.setItem('console.lang', 'en')");
    // The language is read when the console loads: a hash change alone keeps the page as it is.
    await page.goto(`${url}/#/stats?from=${today}&to=${today}`);
    await page.reload();
    await page.locator('[data-test=stats-table][data-loaded]').waitFor();
    expect(await page.locator('nav a[data-nav=stats]').textContent()).toBe('Statistics');
    expect(await page.locator('[data-test=stats-table] thead').textContent()).toContain('Hours over limit');
    await page.evaluate("localStorage.setItem('console.lang', 'zh-CN')");
  });
});
