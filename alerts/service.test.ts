// The alert service on the bus: one malformed message on `alerts` used to be retried for ever (JSON.parse without a
// guard, a handler that throws gets its batch again), so no alert behind it on its partition was ever raised.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../bus/memory.js';
import type { DeadLetter, Signal } from '../contracts/index.js';
import { silentLogger } from '../runtime/log.js';
import { AlertManager } from './manager.js';
import { startAlertService } from './service.js';
import { DuckDbAlertStore } from './store.js';

const signal = (deviceId: string, ts: number): Signal => ({
  type: 'fire',
  ruleId: 'drainage.waterlogging',
  category: 'threshold',
  name: { zh: '道路积水', en: 'Standing water' },
  deviceId,
  district: 'x',
  kind: 'drainage',
  metric: 'level_cm',
  severity: 'warning',
  value: 20,
  level: 15,
  ts,
  standard: 'GB 50014',
  caseWorthy: false,
});

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('alert service', () => {
  it('dead-letters a poison message on the alerts topic (with topic and reason) and raises the alert after it', async () => {
    const store = await DuckDbAlertStore.open(
      path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'city-alerts-')), 'alerts.duckdb'),
    );
    const manager = new AlertManager(store);
    const bus = new MemoryBus({ logger: silentLogger, partitions: 1, retryMinMs: 10, retryMaxMs: 50 });
    const dead: DeadLetter[] = [];
    const sub = await startAlertService({
      bus,
      manager,
      logger: silentLogger,
      deadLetters: { add: async (d) => void dead.push(...d) },
    });
    // All on one key, so one partition, in this order: a truncated message, JSON that is no signal, then a real one.
    await bus.publish('alerts', [
      { key: 'dr-1', value: '{"type":"fire","ruleId":' },
      { key: 'dr-1', value: JSON.stringify({ type: 'fire', deviceId: 'dr-1' }) },
      { key: 'dr-1', value: JSON.stringify(signal('dr-1', Date.parse('2026-06-01T00:00:00Z'))) },
    ]);
    await until(
      async () => (await manager.list({ state: 'open', limit: 10 })).items.length === 1,
      'the alert after the poison messages',
    );
    await until(() => dead.length === 2, 'two dead letters');
    expect((await manager.list({ state: 'open', limit: 10 })).items[0]).toMatchObject({
      deviceId: 'dr-1',
      ruleId: 'drainage.waterlogging',
      state: 'firing',
    });
    expect(dead.map((d) => d.topic)).toEqual(['bus:alerts/dr-1', 'bus:alerts/dr-1']);
    expect(dead[0]!.reason).toMatch(/^not JSON: .*\(consumer group alerts\)$/);
    expect(dead[1]!.reason).toMatch(/^not the expected message: .*ruleId/);
    expect(dead[0]!.payload.toString()).toBe('{"type":"fire","ruleId":');
    // Acknowledged: nothing is left for the group, and nothing comes again.
    expect(bus.lag('alerts', 'alerts')).toBe(0);
    await sub.close();
    await bus.close();
    await store.close();
  });
});
