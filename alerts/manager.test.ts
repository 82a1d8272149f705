// Alert lifecycle and persistence: merged repeats, reopening after a flap, escalation of an acknowledged alert,
// and a restart that loses nothing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Signal } from '../contracts/index.js';
import { AlertManager } from './manager.js';
import { DuckDbAlertStore } from './store.js';

const t0 = Date.parse('2026-06-01T00:00:00Z');
const sig = (type: Signal['type'], ts: number, severity: Signal['severity'] = 'warning', value = 20): Signal => ({
  type,
  ruleId: 'drainage.waterlogging',
  category: 'threshold',
  name: { zh: '道路积水', en: 'Standing water' },
  deviceId: 'dr-1',
  district: 'x',
  kind: 'drainage',
  metric: 'level_cm',
  severity,
  value,
  level: 15,
  ts,
  standard: 'GB 50014',
  caseWorthy: false,
});

describe('AlertManager', () => {
  it('merges repeats, escalates an acknowledged alert back to firing, reopens after a flap, survives a restart', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'city-alerts-')), 'alerts.duckdb');
    let store = await DuckDbAlertStore.open(file);
    let m = new AlertManager(store);
    const a = (await m.handle(sig('fire', t0)))!;
    expect(await m.handle(sig('fire', t0))).toBeNull(); // the same signal again
    expect((await m.handle(sig('fire', t0 + 5000)))!.id).toBe(a.id); // a detector restarted: merged
    await m.acknowledge(a.id, 'li.na', 'on my way');
    const up = (await m.handle(sig('escalate', t0 + 60_000, 'critical', 45)))!;
    expect(up).toMatchObject({ id: a.id, state: 'firing', severity: 'critical', peak: 45 });
    await m.handle(sig('clear', t0 + 120_000));
    const back = (await m.handle(sig('fire', t0 + 300_000)))!; // within 10 min: the same alert comes back
    expect(back).toMatchObject({ id: a.id, state: 'firing', flaps: 1 });
    expect(back.history.map((h) => h.type)).toEqual(['fired', 'acknowledged', 'escalated', 'resolved', 'reopened']);
    await store.close();

    store = await DuckDbAlertStore.open(file);
    m = new AlertManager(store);
    const { items, total } = await m.list({ limit: 10 });
    expect(total).toBe(1);
    expect(items[0]).toMatchObject({ id: a.id, state: 'firing', flaps: 1 });
    await m.handle(sig('clear', t0 + 400_000));
    const later = (await m.handle(sig('fire', t0 + 2 * 3_600_000)))!; // long after: a new episode
    expect(later.id).not.toBe(a.id);
    expect((await m.list({ state: 'open', limit: 10 })).total).toBe(1);
    await store.close();
  });

  it("carries the device's place from the registry when it fires, and keeps it when the device moves later", async () => {
    const store = await DuckDbAlertStore.open(
      path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'city-alerts-')), 'alerts.duckdb'),
    );
    const place = {
      gridCell: '320582001002003',
      location: { lat: 31.8612, lon: 120.5234 },
      address: '新华路12号',
      site: null,
    };
    let where: typeof place | undefined = place;
    const m = new AlertManager(store, { placeOf: (id) => (id === 'dr-1' ? where : undefined) });
    const a = (await m.handle(sig('fire', t0)))!;
    expect(a.place).toEqual(place);
    where = { ...place, gridCell: '320582001002004' };
    expect((await m.handle(sig('fire', t0 + 5000)))!.place).toEqual(place);
    expect((await m.get(a.id))!.place).toEqual(place);
    // A device the registry does not know: no place, as before.
    const other = (await m.handle({ ...sig('fire', t0), deviceId: 'dr-unknown' }))!;
    expect(other.place).toBeUndefined();
    await store.close();
  });
});
