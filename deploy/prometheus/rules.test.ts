// The alert rules are valid for Prometheus (`promtool check rules`) and do what their unit tests say
// (`promtool test rules rules.test.yml`), and every alert has a unit test in which it fires. promtool comes from
// Debian's prometheus package (scripts/services.d/promtool.sh).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const run = promisify(execFile);
const HERE = import.meta.dirname;
let promtool: string;

beforeAll(async () => {
  const { stdout } = await run('bash', [path.resolve(HERE, '../../scripts/services.d/promtool.sh'), 'up'], {
    timeout: 3_000_000,
  });
  promtool = /^PROMTOOL=(.+)$/m.exec(stdout)![1]!;
}, 3_000_000);

async function promtoolRun(...args: string[]): Promise<{ code: number; out: string }> {
  return run(promtool, args, { cwd: HERE }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
  );
}

describe('Prometheus alert rules', () => {
  it('promtool check rules accepts rules.yml', async () => {
    const r = await promtoolRun('check', 'rules', 'rules.yml');
    expect(r.out).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.code).toBe(0);
  });

  it('promtool test rules passes rules.test.yml', async () => {
    const r = await promtoolRun('test', 'rules', 'rules.test.yml');
    expect(r.out).toMatch(/SUCCESS/);
    expect(r.code).toBe(0);
  });

  it('promtool check config accepts the compose Prometheus config with its rules', async () => {
    // The config names the rules where compose mounts them (/etc/prometheus): checked from a folder that stands for it.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'city-prometheus-'));
    fs.copyFileSync(path.join(HERE, 'rules.yml'), path.join(dir, 'rules.yml'));
    fs.writeFileSync(
      path.join(dir, 'prometheus.yml'),
      fs
        .readFileSync(path.join(HERE, 'prometheus.yml'), 'utf8')
        .replace('/etc/prometheus/rules.yml', path.join(dir, 'rules.yml')),
    );
    const r = await promtoolRun('check', 'config', path.join(dir, 'prometheus.yml'));
    fs.rmSync(dir, { recursive: true, force: true });
    expect(r.out).toMatch(/SUCCESS: \d+ rule files found/);
    expect(r.code).toBe(0);
  });

  it('every alert fires in at least one unit test', () => {
    const rules = parse(fs.readFileSync(path.join(HERE, 'rules.yml'), 'utf8')) as {
      groups: { rules: { alert: string }[] }[];
    };
    const tests = parse(fs.readFileSync(path.join(HERE, 'rules.test.yml'), 'utf8')) as {
      tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
    };
    const firing = new Set(
      tests.tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)),
    );
    const untested = rules.groups.flatMap((g) => g.rules.map((r) => r.alert)).filter((a) => !firing.has(a));
    expect(untested).toEqual([]);
  });
});
