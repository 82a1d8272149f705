// Two detector processes in one Kafka consumer group; one is killed with SIGKILL mid-stream. The other takes its
// partitions over, every reading is processed at least once, and no alert is raised twice.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AlertManager } from '../alerts/manager.js';
import { startAlertService } from '../alerts/service.js';
import { DuckDbAlertStore } from '../alerts/store.js';
import { createBus } from '../bus/index.js';
import type { StoredReading } from '../contracts/index.js';
import { silentLogger } from '../runtime/log.js';
import { exited, ROOT, sleep, tmpDir, uniq, waitFor } from './helpers.js';

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

function detectorProcess(prefix: string): ChildProcess {
  const c = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'app/main.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      ROLE: 'detectors',
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_PARTITIONS: '6',
      PORT: '0',
      DATA_DIR: tmpDir('det'),
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(c);
  return c;
}

describe('detectors as a consumer group', () => {
  it('survive kill -9 of a member: every device alerted exactly once', async () => {
    const prefix = `${uniq('g')}.`;
    const bus = await createBus({
      brokers: process.env.KAFKA_BROKERS,
      clientId: uniq('t'),
      topicPrefix: prefix,
      partitions: 6,
      logger: silentLogger,
    });
    const store = await DuckDbAlertStore.open(path.join(tmpDir('galerts'), 'alerts.duckdb'));
    const manager = new AlertManager(store);
    const sub = await startAlertService({
      bus,
      manager,
      logger: silentLogger,
      deadLetters: { add: async () => undefined },
    });

    const a = detectorProcess(prefix);
    const b = detectorProcess(prefix);
    // Both members joined before the stream starts (each creates the topics and joins the group).
    await sleep(8000);

    // 40 manhole covers; each reports every second; its cover opens at reading 60 and stays open.
    const devices = Array.from({ length: 40 }, (_, i) => `mh-g${i}`);
    const t0 = Date.parse('2026-06-01T00:00:00Z');
    const N = 150;
    for (let k = 0; k < N; k++) {
      const batch = devices.map((d) => {
        const r: StoredReading = {
          district: 'xinhua',
          kind: 'manhole',
          deviceId: d,
          ts: t0 + k * 1000,
          metrics: { open: k >= 60 ? 1 : 0, tilt_deg: 0.2, water_cm: 10, battery_pct: 90, rssi_dbm: -80 },
        };
        return { key: d, value: JSON.stringify(r) };
      });
      await bus.publish('readings', batch);
      if (k === 90) {
        a.kill('SIGKILL');
        await exited(a);
      }
      await sleep(40);
    }

    const openAlerts = async () =>
      (await manager.list({ limit: 1000 })).items.filter((x) => x.ruleId === 'manhole.open');
    expect(
      await waitFor(async () => new Set((await openAlerts()).map((x) => x.deviceId)).size === devices.length, 60_000),
    ).toBe(true);
    await sleep(3000); // give a late duplicate the chance to show up
    const alerts = await openAlerts();
    expect(alerts).toHaveLength(devices.length);
    expect(alerts.every((x) => x.firstSeen === t0 + 60_000)).toBe(true);

    b.kill('SIGTERM');
    await exited(b);
    await sub.close();
    await bus.close();
    await store.close();
  });
});
