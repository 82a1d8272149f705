// Exports over the real stores: readings from the DuckDB store in CSV and .xlsx (read back with exceljs), several
// windows and pages of them, alerts with the list route's filters, the statistics, the CSV injection guard.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../alerts/types.js';
import { DuckDbAlertStore } from '../alerts/store.js';
import { fakeSession } from '../review/testdata/fixtures.js';
import { storeSources } from '../stats/sources.js';
import { DuckDbStore } from '../store/duckdb/store.js';
import { roleAllowed, ROUTE_ROLES, ruleFor } from '../users/guard.js';
import { exportRoutes } from './routes.js';
import { csvStream, xlsxStream, type Table } from './table.js';

const T0 = Date.parse('2026-11-27T00:00:00Z');
const N = 12_000; // one a 5 s: 16.7 h, three 6-hour windows, pages of 5,000 in each

async function xlsxRows(buf: Buffer): Promise<{ sheets: string[]; rows: unknown[][] }> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(buf as unknown as ArrayBuffer);
  const rows: unknown[][] = [];
  for (const ws of wb.worksheets) ws.eachRow((r) => rows.push((r.values as unknown[]).slice(1)));
  return { sheets: wb.worksheets.map((w) => w.name), rows };
}

async function collect(r: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(Buffer.from(c as Buffer));
  return Buffer.concat(parts);
}

describe('exports', () => {
  const app = Fastify();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'city-export-'));
  let store: DuckDbStore;
  let alerts: DuckDbAlertStore;
  const staff = { 'x-test-user': 'wang:staff' };

  beforeAll(async () => {
    store = await DuckDbStore.open({ file: path.join(dir, 'city.duckdb') });
    const batch = [];
    for (let i = 0; i < N; i++) {
      batch.push({
        deviceId: 'nz-01',
        district: 'xinhua',
        kind: 'noise' as const,
        ts: T0 + i * 5000,
        metrics: { laeq_db: 50 + (i % 10) },
        ...(i === 7 ? { flags: { laeq_db: 'D' } } : {}),
      });
    }
    await store.write(batch);
    await store.write([
      { deviceId: 'nz-02', district: 'xinhua', kind: 'noise', ts: T0, metrics: { laeq_db: 61, lcpeak_db: 80 } },
    ]);
    alerts = await DuckDbAlertStore.open(':memory:');
    const a: Alert = {
      id: 'a1',
      ruleId: 'noise-day',
      category: 'threshold',
      name: { zh: '=噪声超标', en: 'noise' },
      standard: 'GB 3096',
      deviceId: 'nz-01',
      district: 'xinhua',
      kind: 'noise',
      metric: 'laeq_db',
      severity: 'warning',
      state: 'firing',
      firstSeen: T0 + 3600_000,
      lastSeen: T0 + 3600_000,
      value: 70,
      level: 65,
      peak: 72,
      caseWorthy: false,
      flaps: 0,
      history: [],
    };
    await alerts.put(a);
    await alerts.put({
      ...a,
      id: 'a2',
      deviceId: 'dust-01',
      kind: 'dust',
      state: 'resolved',
      resolvedAt: T0 + 7200_000,
    });
    fakeSession(app);
    await app.register(exportRoutes, { readings: store, alerts, stats: { sources: storeSources({ alerts }) } });
  });
  afterAll(async () => {
    await app.close();
    await alerts.close();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const period = `from=${new Date(T0).toISOString()}&to=${new Date(T0 + 86_400_000).toISOString()}`;

  it('exports every reading of a period as CSV, across windows and pages, with flags', async () => {
    const r = await app.inject({ url: `/api/export/readings.csv?device=nz-01&${period}`, headers: staff });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(r.headers['content-disposition']).toBe('attachment; filename="readings-20261127-20261128.csv"');
    const lines = r.body.split('\r\n').filter(Boolean);
    expect(lines[0]).toBe('\uFEFF设备 device,时间 ts,指标 metric,数值 value,数据标记 flag');
    expect(lines).toHaveLength(N + 1);
    expect(lines[1]).toBe('nz-01,2026-11-27T00:00:00.000Z,laeq_db,50,');
    expect(lines[8]).toBe('nz-01,2026-11-27T00:00:35.000Z,laeq_db,57,D');
    expect(lines[N]).toBe(`nz-01,${new Date(T0 + (N - 1) * 5000).toISOString()},laeq_db,59,`);
    // In time order, none twice across the windows and pages.
    const ts = lines.slice(1).map((l) => Date.parse(l.split(',')[1]!));
    expect(ts.every((t, i) => i === 0 || t > ts[i - 1]!)).toBe(true);
  });

  it('exports several devices and the same rows as .xlsx', async () => {
    const r = await app.inject({ url: `/api/export/readings.xlsx?device=nz-02,nz-01&${period}`, headers: staff });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    const { rows } = await xlsxRows(r.rawPayload);
    expect(rows).toHaveLength(N + 3);
    expect(rows[0]).toEqual(['设备 device', '时间 ts', '指标 metric', '数值 value', '数据标记 flag']);
    expect(rows.slice(1, 3)).toEqual([
      ['nz-02', '2026-11-27T00:00:00.000Z', 'laeq_db', 61],
      ['nz-02', '2026-11-27T00:00:00.000Z', 'lcpeak_db', 80],
    ]);
    expect(rows[10]).toEqual(['nz-01', '2026-11-27T00:00:35.000Z', 'laeq_db', 57, 'D']);
  });

  it('goes on in a second sheet past the rows a sheet holds', async () => {
    async function* rows() {
      for (let i = 0; i < 7; i++) yield [i, `r${i}`];
    }
    const t: Table = {
      name: 'readings',
      columns: [
        { key: 'n', header: 'n' },
        { key: 's', header: 's' },
      ],
      rows: rows(),
    };
    const x = await xlsxRows(await collect(xlsxStream(t, { rowsPerSheet: 3 })));
    expect(x.sheets).toEqual(['readings', 'readings (2)', 'readings (3)']);
    expect(x.rows.filter((r) => r[0] !== 'n').map((r) => r[0])).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('exports alerts with the list filters and the period; text that a spreadsheet would run is quoted', async () => {
    const all = (await app.inject({ url: `/api/export/alerts.csv?${period}`, headers: staff })).body
      .split('\r\n')
      .filter(Boolean);
    expect(all).toHaveLength(3);
    const firing = (await app.inject({ url: `/api/export/alerts.csv?state=firing&${period}`, headers: staff })).body
      .split('\r\n')
      .filter(Boolean);
    expect(firing).toHaveLength(2);
    expect(firing[1]).toMatch(/^a1,noise-day,'=噪声超标,threshold,nz-01,/);
    const later = (
      await app.inject({
        url: `/api/export/alerts.csv?from=${T0 + 86_400_000}&to=${T0 + 2 * 86_400_000}`,
        headers: staff,
      })
    ).body
      .split('\r\n')
      .filter(Boolean);
    expect(later).toHaveLength(1);
    const csv = (
      await collect(
        csvStream({
          name: 'x',
          columns: [{ key: 'a', header: 'a' }],
          rows: (async function* () {
            yield ['+1 "x", y'];
            yield ['-2'];
            yield [-2];
          })(),
        }),
      )
    ).toString();
    expect(csv).toBe('\uFEFFa\r\n"\'+1 ""x"", y"\r\n\'-2\r\n-2\r\n');
  });

  it('exports the statistics', async () => {
    const r = await app.inject({ url: `/api/export/stats.xlsx?group=device&${period}`, headers: staff });
    expect(r.statusCode).toBe(200);
    const { rows } = await xlsxRows(r.rawPayload);
    expect(rows.map((x) => [x[0], x[2]])).toEqual([
      ['分组 key', '告警数 alertsRaised'],
      ['dust-01', 1],
      ['nz-01', 1],
      ['合计 total', 2],
    ]);
  });

  it('refuses bad filters with a clear message, and other roles', async () => {
    expect((await app.inject({ url: '/api/export/readings.csv', headers: staff })).json()).toMatchObject({
      error: 'bad_request',
      message: expect.stringContaining('device'),
    });
    expect(
      (await app.inject({ url: `/api/export/readings.csv?device=nz-01&from=${T0}&to=${T0}`, headers: staff })).json(),
    ).toEqual({ error: 'bad_request', message: 'from must be earlier than to' });
    expect((await app.inject({ url: '/api/export/alerts.csv?state=closed', headers: staff })).statusCode).toBe(400);
    expect((await app.inject({ url: '/api/export/readings.csv?device=nz-01' })).statusCode).toBe(401);
    expect(
      (await app.inject({ url: '/api/export/readings.csv?device=nz-01', headers: { 'x-test-user': 'r:reviewer' } }))
        .statusCode,
    ).toBe(403);
    expect((await app.inject({ url: '/api/export/readings.pdf?device=nz-01', headers: staff })).statusCode).toBe(404);
  });

  it('the sign-in guard lets staff export readings and alerts, reviewers events and cases, both the statistics', () => {
    const may = (role: 'staff' | 'reviewer' | 'admin', url: string) =>
      roleAllowed(ruleFor(ROUTE_ROLES, 'GET', url), role);
    expect(may('staff', '/api/export/readings.csv')).toBe(true);
    expect(may('staff', '/api/export/alerts.xlsx')).toBe(true);
    expect(may('reviewer', '/api/export/readings.csv')).toBe(false);
    expect(may('staff', '/api/export/events.csv')).toBe(false);
    expect(may('reviewer', '/api/export/cases.xlsx')).toBe(true);
    expect(may('staff', '/api/export/stats.xlsx') && may('reviewer', '/api/export/stats.csv')).toBe(true);
    expect(may('staff', '/api/stats') && may('reviewer', '/api/reports/daily.pdf')).toBe(true);
  });
});
