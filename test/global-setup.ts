// Makes sure the real services are there before any test runs: `scripts/services up` (idempotent) provides them
// and prints their addresses, which reach the tests as environment variables.
import { execFileSync } from 'node:child_process';
import path from 'node:path';

export default function setup(): void {
  const root = path.resolve(import.meta.dirname, '..');
  const out = execFileSync(path.join(root, 'scripts/services'), ['up'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  for (const line of out.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim()); // digits too: EVIDENCE_S3_*
    if (m) process.env[m[1]!] = m[2]!;
  }
}
