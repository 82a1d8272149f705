// The AGPL-3.0 of the shipped coco model (section 13) asks that users over a network be offered the source: both
// public pages link to the source page, which the party routes serve (no services).
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { defaultPartyAssetsDir, loadPartyAssets } from './assets.js';
import { sourceArchive } from './source.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const LINK = '/public/assets/source.html';

describe('source and licences page', () => {
  it('is served with the party page, names both licences, and the console and the party page link to it', () => {
    const page = loadPartyAssets(defaultPartyAssetsDir()).files.get('source.html');
    expect(page).toBeDefined();
    const html = fs.readFileSync(path.join(defaultPartyAssetsDir(), 'source.html'), 'utf8');
    expect(html).toContain('AGPL-3.0');
    expect(html).toContain('Apache License 2.0');
    expect(html.match(/class="operator-source"/g)).toHaveLength(2);
    expect(fs.readFileSync(path.join(ROOT, 'console/public/index.html'), 'utf8')).toContain(`href="${LINK}"`);
    expect(fs.readFileSync(path.join(ROOT, 'party/public/app.js'), 'utf8')).toContain(`href: '${LINK}'`);
  });

  it("links to the platform's own source archive, or to SOURCE_URL, and the archive holds the code it runs", async () => {
    const own = loadPartyAssets(defaultPartyAssetsDir()).files.get('source.html')!;
    const text = (a: typeof own) => a.body.toString('utf8');
    expect(text(own).match(/href="\/public\/source\.tar\.gz"/g)).toHaveLength(2);
    expect(text(own)).not.toContain('#operator-source');
    const elsewhere = loadPartyAssets(defaultPartyAssetsDir(), {
      sourceUrl: 'https://git.example.gov.cn/city/platform?tag=v1&x="',
    }).files.get('source.html')!;
    expect(
      text(elsewhere).match(/href="https:\/\/git\.example\.gov\.cn\/city\/platform\?tag=v1&amp;x=&quot;"/g),
    ).toHaveLength(2);
    const file = await sourceArchive(ROOT)();
    const list = execFileSync('tar', ['-tzf', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).split('\n');
    for (const f of ['./package.json', './LICENSE', './NOTICE', './party/source.ts', './app/platform.ts'])
      expect(list).toContain(f);
    expect(list.some((f) => f.startsWith('./node_modules/'))).toBe(false);
  }, 60_000);
});
