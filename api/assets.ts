// Static files of the platform's own web pages (the console, the party's page): small, so read once at start and
// kept in memory with their gzip form and an ETag, and revalidated by the browser on each load (no stale page after
// an upgrade). Only files loaded at start can be served: no request path reaches the file system.
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface Asset {
  body: Buffer;
  gzip: Buffer | null;
  type: string;
  etag: string;
}

/** Content types by file ending; files of other endings are not served. */
export const ASSET_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** The pages run only their own scripts and talk only to this server; evidence images come from here too. */
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

export function makeAsset(body: Buffer, type: string): Asset {
  // PNG and fonts are compressed already.
  const compressible = !/^image\/png|^font\//.test(type) && body.length > 512;
  return {
    body,
    gzip: compressible ? zlib.gzipSync(body, { level: 9 }) : null,
    type,
    etag: `"${crypto.createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
  };
}

/**
 * Sends an asset with its ETag (304 when the browser has it, for a 200 answer), gzip when accepted. `vary` names the
 * request headers the answer depends on besides accept-encoding (a page that is JSON for Accept: application/json).
 */
export function sendAsset(
  req: FastifyRequest,
  reply: FastifyReply,
  a: Asset,
  o: { cache?: string; vary?: string } = {},
) {
  reply.header('etag', a.etag);
  reply.header('cache-control', o.cache ?? 'no-cache');
  reply.header('x-content-type-options', 'nosniff');
  reply.header('vary', o.vary ? `${o.vary}, accept-encoding` : 'accept-encoding');
  if (req.headers['if-none-match'] === a.etag && reply.statusCode === 200) return reply.code(304).send();
  reply.type(a.type);
  if (a.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
    reply.header('content-encoding', 'gzip');
    return reply.send(a.gzip);
  }
  return reply.send(a.body);
}
