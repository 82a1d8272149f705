// The production stack description is valid, and its Mosquitto configuration really enforces per-device
// credentials and ACLs (checked against a real Mosquitto started from the shipped files).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

const run = promisify(execFile);

describe('deployment files', () => {
  it('docker compose config accepts docker-compose.yml', async () => {
    const r = await run('bash', [path.join(ROOT, 'scripts/services.d/compose.sh'), 'check'], {
      cwd: ROOT,
      timeout: 600_000,
    });
    expect(r.stderr).toMatch(/docker-compose.yml is valid/);
  }, 600_000);

  it("Mosquitto refuses wrong passwords and publishes outside a device's own topics", async () => {
    const r = await run('bash', [path.join(ROOT, 'deploy/mosquitto/check.sh')], { cwd: ROOT, timeout: 120_000 });
    expect(r.stdout + r.stderr).not.toMatch(/FAIL/);
  }, 120_000);
});
