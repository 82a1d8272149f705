// `npm run bench:abuse`: what a stranger on the network can do to the platform, measured. Imports every
// bench/abuse/*.ts in name order, calls its `run()` (which starts what it needs on 127.0.0.1, stops by itself and
// cleans up) and prints the lines it returns under a heading per file. A part that throws is reported under its
// heading and the others still run; the exit code is 0 when every part ran, 1 when one failed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = path.join(import.meta.dirname, 'abuse');
const parts = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'))
  .sort();

process.stdout.write(
  `abuse benchmark: ${parts.length} parts, ${os.cpus().length} cores, node ${process.version}, ${new Date().toISOString()}\n`,
);
let failed = 0;
for (const file of parts) {
  process.stdout.write(`\n## ${file}\n`);
  const t0 = performance.now();
  try {
    const m = (await import(pathToFileURL(path.join(dir, file)).href)) as { run?: () => Promise<string[]> };
    if (typeof m.run !== 'function')
      throw new Error('exports no run(): export async function run(): Promise<string[]>');
    for (const line of await m.run()) process.stdout.write(`  ${line}\n`);
  } catch (e) {
    failed++;
    process.stdout.write(`  FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  }
  process.stdout.write(`  (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
}
// Explicitly: a part's leftover handle (a socket in TIME_WAIT, an unref'd timer) must not keep the runner alive.
process.exit(failed > 0 ? 1 : 0);
