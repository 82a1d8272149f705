// The disk gauges report the real file system of each folder (compared with statfs(1) of coreutils), and skip a folder
// that does not exist yet instead of failing the scrape.
import { execFileSync } from 'node:child_process';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { tmpDir } from '../test/helpers.js';
import { diskMetrics } from './disk.js';

describe('diskMetrics', () => {
  it('exports free and total bytes of each folder, skipping one that does not exist', async () => {
    const dir = tmpDir('disk');
    const registry = new Registry();
    diskMetrics(registry, { data: dir, evidence: `${dir}/not-yet` });
    const text = await registry.metrics();
    const value = (name: string) =>
      Number(new RegExp(`^${name}\\{volume="data",path="${dir}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
    const [bsize, blocks, avail] = execFileSync('stat', ['-f', '-c', '%S %b %a', dir], { encoding: 'utf8' })
      .trim()
      .split(' ')
      .map(Number);
    expect(value('disk_size_bytes')).toBe(blocks! * bsize!);
    // Free space moves while other processes write: within 64 MiB of what stat saw a moment before.
    expect(Math.abs(value('disk_free_bytes') - avail! * bsize!)).toBeLessThan(64 * 2 ** 20);
    expect(text).not.toContain('volume="evidence"');
  });
});
