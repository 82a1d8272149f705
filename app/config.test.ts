// The README's table of variables is the operator's only list of them: a variable the config reads but the table
// misses is a setting nobody finds, and a row the code no longer reads is a setting that does nothing.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LOG_VARIABLES } from '../runtime/log.js';
import { CONFIG_VARIABLES } from './config.js';

/** The variable names in the first column of the README's Configuration table. */
function documentedVariables(): string[] {
  const readme = fs.readFileSync(path.resolve(import.meta.dirname, '../README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Configuration\n'));
  if (!section) throw new Error('README.md has no "## Configuration" section');
  const rows = section.split('\n').filter((l) => l.startsWith('| `'));
  return rows.flatMap((r) => [...(r.split('|')[1] ?? '').matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]!));
}

describe("README.md's table of environment variables", () => {
  const documented = documentedVariables();

  it('lists every variable app/config.ts reads', () => {
    expect(CONFIG_VARIABLES.length).toBeGreaterThan(50);
    expect(CONFIG_VARIABLES.filter((v) => !documented.includes(v))).toEqual([]);
  });

  it('lists only variables the platform reads', () => {
    const read = new Set<string>([...CONFIG_VARIABLES, ...LOG_VARIABLES]);
    expect(documented.filter((v) => !read.has(v))).toEqual([]);
  });
});
