// The party page's static files (party/public: one HTML page, one ES module, one stylesheet), read once at start and
// kept in memory with their gzip form and an ETag, like the console's. The page is served under several paths (the
// query form, a record, the locations); its <html> element says whether the server found what the path names, so
// the script does not ask a second time for a code that was not found (a second failure would be counted).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ConfigError } from '../runtime/config.js';

export interface Asset {
  body: Buffer;
  gzip: Buffer | null;
  type: string;
  etag: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** The page runs only its own script and talks only to this server; evidence images come from here too. */
export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** party/public beside this file when run from source, or from dist/party when compiled. */
export function defaultPartyAssetsDir(): string {
  const candidates = [path.join(import.meta.dirname, 'public'), path.resolve(import.meta.dirname, '../../party/public')];
  return candidates.find((d) => fs.existsSync(path.join(d, 'index.html'))) ?? candidates[0]!;
}

export function makeAsset(body: Buffer, type: string): Asset {
  const compressible = !/^image\/png/.test(type) && body.length > 512;
  return {
    body,
    gzip: compressible ? zlib.gzipSync(body, { level: 9 }) : null,
    type,
    etag: `"${crypto.createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
  };
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

export function loadPartyAssets(dir: string): PartyAssets {
  const indexFile = path.join(dir, 'index.html');
  if (!fs.existsSync(indexFile)) throw new ConfigError(`party page assets not found: ${indexFile} is missing`);
  const html = fs.readFileSync(indexFile, 'utf8');
  if (!html.includes('data-status="ok"')) throw new ConfigError(`${indexFile}: the <html> element needs data-status="ok"`);
  const files = new Map<string, Asset>();
  for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
    const type = TYPES[path.extname(ent.name)];
    if (!ent.isFile() || !type || ent.name === 'index.html') continue;
    files.set(ent.name, makeAsset(fs.readFileSync(path.join(dir, ent.name)), type));
  }
  const page = Object.fromEntries(
    PAGE_STATES.map((st) => [st, makeAsset(Buffer.from(html.replace('data-status="ok"', `data-status="${st}"`)), TYPES['.html']!)]),
  ) as Record<PageState, Asset>;
  return { page, files };
}

export function sendAsset(req: FastifyRequest, reply: FastifyReply, a: Asset, cache = 'no-cache') {
  reply.header('etag', a.etag);
  reply.header('cache-control', cache);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('vary', 'accept, accept-encoding');
  if (req.headers['if-none-match'] === a.etag && reply.statusCode === 200) return reply.code(304).send();
  reply.type(a.type);
  if (a.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
    reply.header('content-encoding', 'gzip');
    return reply.send(a.gzip);
  }
  return reply.send(a.body);
}
