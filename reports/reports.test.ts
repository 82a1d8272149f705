// The PDF reports printed by real Chromium (Debian's, scripts/services.d/chromium.sh) and read back with pdftotext
// (poppler-utils, scripts/services.d/poppler.sh); the periods they cover.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../alerts/types.js';
import { DuckDbAlertStore } from '../alerts/store.js';
import { fakeSession } from '../review/testdata/fixtures.js';
import { storeSources } from '../stats/sources.js';
import { chromiumPath } from '../test/console-browser.js';
import { reportPeriod } from './period.js';
import { reportRoutes } from './routes.js';

const TZ = 'Asia/Shanghai';
const day = (s: string) => Date.parse(`${s}T00:00:00+08:00`);

describe('report periods', () => {
  it('covers the local day, the Monday-to-Sunday week and the calendar month of the date', () => {
    expect(reportPeriod('daily', '2026-11-27', TZ)).toEqual({
      kind: 'daily',
      from: day('2026-11-27'),
      to: day('2026-11-28'),
      firstDay: '2026-11-27',
      lastDay: '2026-11-27',
    });
    expect(reportPeriod('weekly', '2026-11-27', TZ)).toMatchObject({
      from: day('2026-11-23'),
      to: day('2026-11-30'),
      firstDay: '2026-11-23',
      lastDay: '2026-11-29',
    });
    expect(reportPeriod('weekly', '2026-11-29', TZ)).toMatchObject({ firstDay: '2026-11-23' });
    expect(reportPeriod('monthly', '2026-12-31', TZ)).toMatchObject({
      from: day('2026-12-01'),
      to: day('2027-01-01'),
      lastDay: '2026-12-31',
    });
    expect(reportPeriod('daily', undefined, TZ, day('2026-11-27') + 1000)).toMatchObject({ firstDay: '2026-11-27' });
  });
});

function pdfText(pdf: Buffer): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'city-pdf-'));
  try {
    fs.writeFileSync(path.join(dir, 'r.pdf'), pdf);
    return execFileSync(process.env.PDFTOTEXT ?? 'pdftotext', ['-layout', path.join(dir, 'r.pdf'), '-'], {
      encoding: 'utf8',
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('PDF reports', () => {
  const app = Fastify();
  const bare = Fastify();
  let alerts: DuckDbAlertStore;
  const staff = { 'x-test-user': 'wang:staff' };

  beforeAll(async () => {
    alerts = await DuckDbAlertStore.open(':memory:');
    const a: Alert = {
      id: 'a1',
      ruleId: 'dust-pm10',
      category: 'threshold',
      name: { zh: '扬尘超标', en: 'dust' },
      standard: 'DB 32/4437',
      deviceId: 'dust-site-7',
      district: 'xinhua',
      kind: 'dust',
      metric: 'pm10',
      severity: 'major',
      state: 'resolved',
      firstSeen: day('2026-11-27') + 9 * 3600_000,
      lastSeen: 0,
      resolvedAt: day('2026-11-27') + 12 * 3600_000,
      value: 200,
      level: 150,
      peak: 260,
      caseWorthy: false,
      flaps: 0,
      history: [],
    };
    await alerts.put(a);
    await alerts.put({
      ...a,
      id: 'a2',
      deviceId: 'nz-jinghai-3',
      district: 'jinghai',
      kind: 'noise',
      firstSeen: day('2026-11-27') + 3600_000,
      resolvedAt: day('2026-11-27') + 7200_000,
    });
    fakeSession(app);
    await app.register(reportRoutes, { sources: storeSources({ alerts }), chromium: chromiumPath(), timeZone: TZ });
    fakeSession(bare);
    await bare.register(reportRoutes, { sources: storeSources({ alerts }), timeZone: TZ });
  });
  afterAll(async () => {
    await Promise.all([app.close(), bare.close()]);
    await alerts.close();
  });

  it('renders the daily report with its figures, tables and charts', async () => {
    const r = await app.inject({ url: '/api/reports/daily.pdf?date=2026-11-27', headers: staff });
    expect(r.statusCode, r.body.slice(0, 300)).toBe(200);
    expect(r.headers['content-type']).toBe('application/pdf');
    expect(r.rawPayload.subarray(0, 5).toString()).toBe('%PDF-');
    const text = pdfText(r.rawPayload);
    expect(text).toContain('城市感知与非现场执法日报');
    expect(text).toContain('统计周期：2026-11-27');
    expect(text).toMatch(/xinhua\s+1\s+3\.0/); // a table row: district, alerts, hours in exceedance
    expect(text).toMatch(/jinghai\s+1\s+1\.0/);
    expect(text).toContain('各区域告警数'); // the chart's title, drawn as SVG
    expect(text).toContain('dust-site-7');
    expect(text).toMatch(/合计\s+2\s+4\.0/);
  });

  it('renders a month with nothing in it', async () => {
    const r = await app.inject({ url: '/api/reports/monthly.pdf?date=2025-01-15', headers: staff });
    expect(r.statusCode).toBe(200);
    const text = pdfText(r.rawPayload);
    expect(text).toContain('城市感知与非现场执法月报');
    expect(text).toContain('2025-01-01 至 2025-01-31');
    expect(text).toContain('无数据');
  });

  it('says clearly when there is no Chromium, and refuses a bad date', async () => {
    const r = await bare.inject({ url: '/api/reports/weekly.pdf', headers: staff });
    expect(r.statusCode).toBe(503);
    expect(r.json()).toMatchObject({ error: 'reports_unavailable', message: expect.stringContaining('CHROMIUM') });
    const html = await bare.inject({ url: '/api/reports/weekly.pdf?date=2026-11-27&format=html', headers: staff });
    expect(html.statusCode).toBe(200);
    expect(html.body).toContain('2026-11-23 至 2026-11-29');
    expect((await app.inject({ url: '/api/reports/daily.pdf?date=27.11.2026', headers: staff })).statusCode).toBe(400);
    expect((await app.inject({ url: '/api/reports/daily.pdf' })).statusCode).toBe(401);
  });
});
