// app/README.md's role table is how an operator learns what a process of each ROLE runs: it is checked against
// the steps' own `roles` (app/parts/), in the order platform.ts starts them, so it cannot drift from the code.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EVERY_ROLE } from './parts/step.js';
import { PARTS } from './platform.js';

interface Row {
  part: string;
  roles: string[];
}

/** The rows of the README's table whose header starts with "| part": the bold name and the roles ticked. */
function roleTable(markdown: string): Row[] {
  const lines = markdown.split('\n');
  const head = lines.findIndex((l) => l.startsWith('| part'));
  if (head < 0) throw new Error('app/README.md has no role table (a header starting "| part")');
  const roles = lines[head]!.split('|')
    .slice(2, -1)
    .map((c) => c.trim().replace(/`/g, ''));
  const rows: Row[] = [];
  for (const line of lines.slice(head + 2)) {
    if (!line.startsWith('|')) break;
    const cells = line.split('|').slice(1, -1);
    const part = /\*\*(.+?)\*\*/.exec(cells[0] ?? '')?.[1];
    if (!part) throw new Error(`role table row without a **part name**: ${line}`);
    rows.push({ part, roles: roles.filter((_, i) => (cells[i + 1] ?? '').trim() === '✓') });
  }
  return rows;
}

describe("app/README.md's role table", () => {
  const table = roleTable(fs.readFileSync(path.resolve(import.meta.dirname, 'README.md'), 'utf8'));

  it('names every part, in the order the platform starts them, with the roles that run it', () => {
    expect(table).toEqual(PARTS.map((s) => ({ part: s.name, roles: EVERY_ROLE.filter((r) => s.roles.includes(r)) })));
  });

  it('is read the way it is written: a wrong tick is caught', () => {
    const readme = '| part | `all` | `api` |\n|---|---|---|\n| **x**: y | ✓ |  |\n| **z** | | ✓ |\n\nafter\n';
    expect(roleTable(readme)).toEqual([
      { part: 'x', roles: ['all'] },
      { part: 'z', roles: ['api'] },
    ]);
  });
});
