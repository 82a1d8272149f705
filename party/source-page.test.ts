// The AGPL-3.0 of the shipped coco model (section 13) asks that users over a network be offered the source: both
// public pages link to the source page, which the party routes serve (no services).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultPartyAssetsDir, loadPartyAssets } from './assets.js';

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
});
