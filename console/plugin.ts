// Serves the console: one page at `/` and its static assets under `/console/` (plain ES modules and CSS shipped in
// console/public, no build step). The files are small, so they are read once at start, kept in memory with their
// gzip form and an ETag, and revalidated by the browser on each load (no stale console after an upgrade).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ConfigError } from '../runtime/config.js';

export interface ConsoleOptions {
  /** The folder with index.html and the assets; default console/public beside this file (also from dist/). */
  assetsDir?: string;
}

interface Asset {
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
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
};

// The console runs only its own scripts and talks only to this server; evidence images come from here too.
const CSP = [
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

/** console/public next to this file when run from source; dist/console → ../../console/public when compiled. */
export function defaultAssetsDir(): string {
  const candidates = [path.join(import.meta.dirname, 'public'), path.resolve(import.meta.dirname, '../../console/public')];
  return candidates.find((d) => fs.existsSync(path.join(d, 'index.html'))) ?? candidates[0]!;
}

function loadAssets(dir: string): Map<string, Asset> {
  if (!fs.existsSync(path.join(dir, 'index.html'))) throw new ConfigError(`console assets not found: ${dir}/index.html is missing`);
  const out = new Map<string, Asset>();
  const walk = (d: string) => {
    for (const ent of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, ent.name);
      if (ent.isDirectory()) walk(full);
      else if (ent.isFile() && TYPES[path.extname(ent.name)]) {
        const body = fs.readFileSync(full);
        const type = TYPES[path.extname(ent.name)]!;
        const compressible = !/^image\/png|^font\//.test(type) && body.length > 512;
        out.set(path.relative(dir, full).split(path.sep).join('/'), {
          body,
          gzip: compressible ? zlib.gzipSync(body, { level: 9 }) : null,
          type,
          etag: `"${crypto.createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
        });
      }
    }
  };
  walk(dir);
  return out;
}

function send(req: FastifyRequest, reply: FastifyReply, a: Asset) {
  reply.header('etag', a.etag);
  reply.header('cache-control', 'no-cache');
  reply.header('x-content-type-options', 'nosniff');
  reply.header('vary', 'accept-encoding');
  if (req.headers['if-none-match'] === a.etag) return reply.code(304).send();
  reply.type(a.type);
  if (a.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
    reply.header('content-encoding', 'gzip');
    return reply.send(a.gzip);
  }
  return reply.send(a.body);
}

/** Register with `app.register(consolePlugin, opts)`: routes `/`, `/console`, `/console/*`. */
export async function consolePlugin(app: FastifyInstance, o: ConsoleOptions = {}): Promise<void> {
  const assets = loadAssets(o.assetsDir ?? defaultAssetsDir());
  const index = assets.get('index.html')!;

  const page = async (req: FastifyRequest, reply: FastifyReply) => {
    reply.header('content-security-policy', CSP);
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'same-origin');
    return send(req, reply, index);
  };
  app.get('/', page);
  app.get('/index.html', page);
  app.get('/console', async (_req, reply) => reply.redirect('/', 302));

  app.get('/console/*', async (req, reply) => {
    // Only the files loaded at start can be named: no path reaches the file system.
    const name = (req.params as { '*': string })['*'];
    const a = name === '' || name === 'index.html' ? undefined : assets.get(name);
    if (!a) return name === '' ? reply.redirect('/', 302) : reply.code(404).send({ error: 'not_found', message: `no console file ${name}` });
    return send(req, reply, a);
  });
}
