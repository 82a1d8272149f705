// Backup and restore of a running embedded platform under load: `npm run backup` while readings flow (the simulated
// fleet and an extra publisher through the embedded broker) and events with evidence are filed, a second backup that
// copies only the new evidence, the data directory wiped, `npm run restore`, and the platform started again on what
// was restored: the counts of the snapshot, and every evidence image of every event verifies. A damaged backup is
// refused with the names of the damaged files, and nothing is written.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAppConfig } from '../../app/config.js';
import { startPlatform, type Platform } from '../../app/platform.js';
import { makeEvent } from '../../review/testdata/fixtures.js';
import { silentLogger } from '../../runtime/log.js';
import { EvidenceStore } from '../../vision/evidence/store.js';
import { ADMIN_PASSWORD, ROOT, tmpDir, waitFor } from '../../test/helpers.js';
import { agentSockets } from './agent.js';
import { backup } from './backup.js';
import { evidencePath, type Manifest } from './manifest.js';

const root = tmpDir('backup');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function platformConfig(dataDir: string) {
  return loadAppConfig({
    PORT: '0',
    MQTT_PORT: '0',
    HJ212_PORT: 'off',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    ADMIN_PASSWORD,
    SIM_CAMERAS: '0',
    SIM_PER_KIND: '1',
    SIM_DISTRICTS: 'xinhua',
    PLATES: '0',
  });
}

/** Runs the command as an operator would (npm run backup / restore), with the platform's DATA_DIR. */
function cli(args: string[], dataDir: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const { MQTT_URL: _m, KAFKA_BROKERS: _k, INFLUX_URL: _i, ...base } = process.env;
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'operations/backup/main.ts'), ...args], {
      cwd: ROOT,
      env: { ...base, DATA_DIR: dataDir, LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Row counts of the tables of a DuckDB file, read without holding it for long. */
async function counts(file: string, tables: string[]): Promise<Record<string, number>> {
  const inst = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
  const c = await inst.connect();
  try {
    const out: Record<string, number> = {};
    for (const t of tables) out[t] = Number((await c.runAndReadAll(`SELECT count(*) FROM ${t}`)).getRows()[0]![0]);
    return out;
  } finally {
    c.closeSync();
    inst.closeSync();
  }
}

describe('backup and restore', () => {
  let p: Platform | null = null;
  afterAll(async () => {
    await p?.stop();
  });

  it('backs up a running platform under load, restores into a wiped data directory, and it starts with the same counts and verified evidence', async () => {
    const dataDir = path.join(root, 'data');
    const to = path.join(root, 'backup');
    p = await startPlatform(platformConfig(dataDir), silentLogger);
    const evidence = new EvidenceStore(path.join(dataDir, 'evidence'));
    expect(await waitFor(async () => (await p!.store.countPoints()) > 0, 20_000)).toBe(true);

    // Load: an extra publisher through the embedded broker (the gateway's account may publish for any sensor), and
    // enforcement events with their evidence filed while the backups run.
    const pub = await mqtt.connectAsync(p.mqttUrl!, {
      username: 'embedded-gateway',
      password: p.mqttPasswords!.get('embedded-gateway')!,
      clientId: 'backup-load',
    });
    let stopLoad = false;
    let sent = 0;
    const t0 = Date.parse('2026-12-01T00:00:00Z');
    const readingsLoad = (async () => {
      while (!stopLoad) {
        await Promise.all(
          Array.from({ length: 50 }, () => {
            const i = sent++;
            return pub.publishAsync(
              `city/v1/xinhua/noise/load-${i % 20}/readings`,
              JSON.stringify({ ts: new Date(t0 + i * 1000).toISOString(), metrics: { laeq_db: 50 + (i % 10) } }),
              { qos: 1 },
            );
          }),
        );
      }
    })();
    let n = 0;
    const eventsLoad = (async () => {
      while (!stopLoad) {
        await p!.events!.add([await makeEvent(evidence, { n: ++n })]);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    expect(await waitFor(async () => n >= 5 && sent >= 500, 30_000)).toBe(true);

    const first = await cli(['backup', '--to', to], dataDir);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/"msg":"backup: copies made by the running platform"/);
    expect(first.stdout).toMatch(/"msg":"backup: done"/);
    const eventsAfterFirst = n;

    // The second backup copies only the evidence filed since the first (the pool is content-addressed).
    expect(await waitFor(async () => n >= eventsAfterFirst + 3, 30_000)).toBe(true);
    const second = await backup({ dataDir, evidenceDir: path.join(dataDir, 'evidence'), to, logger: silentLogger });
    const firstManifest = JSON.parse(
      fs.readFileSync(
        path.join(to, 'snapshots', fs.readdirSync(path.join(to, 'snapshots')).sort()[0]!, 'manifest.json'),
        'utf8',
      ),
    ) as Manifest;
    expect(second.evidence.copied).toBe(second.evidence.count - firstManifest.evidence.count);
    expect(second.evidence.copied).toBeGreaterThanOrEqual(3 * 4);
    expect(second.evidence.altered).toEqual([]);

    stopLoad = true;
    await Promise.all([readingsLoad, eventsLoad]);
    await pub.endAsync();
    await p.stop();
    p = null;
    expect(agentSockets(dataDir)).toEqual([]); // the agent's socket goes with the platform

    // What the newest snapshot holds: the counts a restore must give back.
    const snap = second.snapshot;
    const snapCounts = {
      city: await counts(path.join(snap, 'city.duckdb'), ['readings', 'dead_letters']),
      events: await counts(path.join(snap, 'events.duckdb'), ['events']),
      users: await counts(path.join(snap, 'users.duckdb'), ['users']),
    };
    expect(snapCounts.city.readings).toBeGreaterThan(0);
    expect(snapCounts.events.events).toBeGreaterThanOrEqual(eventsAfterFirst + 3);
    expect(second.files.map((f) => f.name)).toEqual(
      expect.arrayContaining([
        'alerts.duckdb',
        'cases.duckdb',
        'city.duckdb',
        'events.duckdb',
        'notices.duckdb',
        'statements.duckdb',
        'users.duckdb',
      ]),
    );

    // Wipe, restore, start again.
    const loadPoints = async (st: Platform['store']) => {
      let sum = 0;
      for (let d = 0; d < 20; d++) sum += await st.countPoints(`load-${d}`);
      return sum;
    };
    fs.rmSync(dataDir, { recursive: true, force: true });
    const r = await cli(['restore', '--from', to], dataDir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/"msg":"restore: done"/);
    expect({
      city: await counts(path.join(dataDir, 'city.duckdb'), ['readings', 'dead_letters']),
      events: await counts(path.join(dataDir, 'events.duckdb'), ['events']),
      users: await counts(path.join(dataDir, 'users.duckdb'), ['users']),
    }).toEqual(snapCounts);
    const snapLoad = await counts(path.join(snap, 'city.duckdb'), [`readings WHERE device LIKE 'load-%'`]);

    p = await startPlatform(platformConfig(dataDir), silentLogger);
    // The restarted fleet adds readings of its own; the extra publisher's stay as the snapshot had them.
    expect(await loadPoints(p.store)).toBe(Object.values(snapLoad)[0]);
    const restored = await p.events!.list({ limit: 1000 });
    expect(restored.total).toBe(snapCounts.events.events);
    const restoredEvidence = new EvidenceStore(path.join(dataDir, 'evidence'));
    let images = 0;
    for (const e of restored.items) {
      for (const img of e.event.evidence) {
        expect(await restoredEvidence.verify(img.sha256), img.sha256).toBe(true);
        images++;
      }
    }
    expect(images).toBe(restored.total * 4);

    // While the platform runs, a restore is refused; so is one into a data directory that holds the files.
    const running = await cli(['restore', '--from', to], dataDir);
    expect(running.status).toBe(2);
    expect(running.stderr).toMatch(/the platform is running on .*: stop it before restoring/);
    await p.stop();
    p = null;
    const occupied = await cli(['restore', '--from', to], dataDir);
    expect(occupied.status).toBe(2);
    expect(occupied.stderr).toMatch(
      /already holds alerts\.duckdb, .*city\.duckdb, .*users\.duckdb.*a restore does not overwrite/,
    );
  });

  it('refuses a damaged backup with the names of what is damaged, and writes nothing', async () => {
    const to = path.join(root, 'backup');
    const snap = path.join(to, 'snapshots', fs.readFileSync(path.join(to, 'LATEST'), 'utf8').trim());
    const m = JSON.parse(fs.readFileSync(path.join(snap, 'manifest.json'), 'utf8')) as Manifest;
    const events = path.join(snap, 'events.duckdb');
    const buf = fs.readFileSync(events);
    buf[buf.length - 100] = buf[buf.length - 100]! ^ 0xff;
    fs.writeFileSync(events, buf);
    const sha = m.evidence.items[0]![0];
    fs.appendFileSync(evidencePath(path.join(to, 'evidence'), sha), 'x');
    const target = path.join(root, 'elsewhere');
    const r = await cli(['restore', '--from', to], target);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('does not verify, nothing was restored');
    expect(r.stderr).toMatch(/- events\.duckdb: its SHA-256 is [0-9a-f]{64}, the manifest says [0-9a-f]{64}/);
    expect(r.stderr).toContain(`- evidence ${sha}: its content hashes to`);
    expect(r.stderr).not.toMatch(/\n\s+at /); // a message, not a stack
    expect(fs.existsSync(target)).toBe(false);
  });
});
