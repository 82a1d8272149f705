// runMain: a user's mistake (a bad config, an unknown option) is a message and exit code 2, never a stack trace.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');

function run(body: string) {
  const script = `import { parseArgs } from 'node:util'; import { ConfigError, runMain } from './runtime/config.ts'; runMain('demo', async () => { ${body} });`;
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    encoding: 'utf8',
  });
}

describe('runMain', () => {
  it('an unknown option: the message and exit 2, no stack', () => {
    const r = run(`parseArgs({ options: { seed: { type: 'string' } }, args: ['--help'] });`);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^demo: Unknown option '--help'/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a ConfigError: its message and exit 2; a bug: exit 1 with its stack', () => {
    const bad = run(`throw new ConfigError('RULES_FILE: no such file');`);
    expect([bad.status, bad.stderr]).toEqual([2, 'demo: RULES_FILE: no such file\n']);
    const bug = run(`null.x;`);
    expect(bug.status).toBe(1);
    expect(bug.stderr).toMatch(/^demo: fatal: TypeError/);
  });
});
