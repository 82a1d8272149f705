// The party page's static files (party/public: one HTML page, one ES module, one stylesheet), kept in memory like
// the console's (api/assets.ts). The page is served under several paths (the query form, a record, the locations);
// its <html> element says whether the server found what the path names, so the script does not ask a second time
// for a code that was not found (a second failure would be counted).
import fs from 'node:fs';
import path from 'node:path';
import { ASSET_TYPES, makeAsset, type Asset } from '../api/assets.js';
import { ConfigError } from '../runtime/config.js';

/** Where the platform serves its own source when the operator publishes none elsewhere (party/source.ts). */
export const SOURCE_ARCHIVE_PATH = '/public/source.tar.gz';

/** party/public beside this file when run from source, or from dist/party when compiled. */
export function defaultPartyAssetsDir(): string {
  const candidates = [
    path.join(import.meta.dirname, 'public'),
    path.resolve(import.meta.dirname, '../../party/public'),
  ];
  return candidates.find((d) => fs.existsSync(path.join(d, 'index.html'))) ?? candidates[0]!;
}

/**
 * ok: the path's record (or list) was found, or the path names nothing to find; not-found: a code (or plate and day)
 * with no record, served with 404; too-many: the client is refused for too many failed look-ups (429).
 */
export const PAGE_STATES = ['ok', 'not-found', 'too-many'] as const;
export type PageState = (typeof PAGE_STATES)[number];

export interface PartyAssets {
  page: Record<PageState, Asset>;
  files: Map<string, Asset>;
}

/** `plateLookup`: whether the page offers the look-up by plate (the <html> element's data-plate-lookup, 1 or 0). */
/**
 * `sourceUrl`: where the source page's links point (SOURCE_URL); the platform's own archive, /public/source.tar.gz,
 * when absent.
 */
export function loadPartyAssets(dir: string, o: { plateLookup?: boolean; sourceUrl?: string } = {}): PartyAssets {
  const indexFile = path.join(dir, 'index.html');
  if (!fs.existsSync(indexFile)) throw new ConfigError(`party page assets not found: ${indexFile} is missing`);
  const html = fs.readFileSync(indexFile, 'utf8');
  if (!html.includes('data-status="ok"'))
    throw new ConfigError(`${indexFile}: the <html> element needs data-status="ok"`);
  const files = new Map<string, Asset>();
  for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
    const type = ASSET_TYPES[path.extname(ent.name)];
    if (!ent.isFile() || !type || ent.name === 'index.html') continue;
    let bytes = fs.readFileSync(path.join(dir, ent.name));
    if (ent.name === 'source.html') {
      const href = (o.sourceUrl ?? SOURCE_ARCHIVE_PATH)
        .replace(/&/g, '&amp;')
        .replace(/"/g, '&quot;')
        .replace(/</g, '&lt;');
      bytes = Buffer.from(bytes.toString('utf8').replaceAll('href="#operator-source"', `href="${href}"`));
    }
    files.set(ent.name, makeAsset(bytes, type));
  }
  const page = Object.fromEntries(
    PAGE_STATES.map((st) => [
      st,
      makeAsset(
        Buffer.from(
          html.replace('data-status="ok"', `data-status="${st}" data-plate-lookup="${o.plateLookup ? 1 : 0}"`),
        ),
        ASSET_TYPES['.html']!,
      ),
    ]),
  ) as Record<PageState, Asset>;
  return { page, files };
}
