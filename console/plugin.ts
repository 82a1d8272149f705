// Serves the console: one page at `/` and its static assets under `/console/` (plain ES modules and CSS shipped in
// console/public, no build step). The files are small, so they are read once at start, kept in memory with their
// gzip form and an ETag, and revalidated by the browser on each load (no stale console after an upgrade).
// An encapsulated plugin: `app.register(consolePlugin, { assetsDir })`, its routes described by zod schemas.
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ASSET_TYPES, makeAsset, PAGE_CSP, sendAsset, type Asset } from '../api/assets.js';
import { contentAnswer, Failure, noBody, useZodSchemas } from '../api/schemas.js';
import { ConfigError } from '../runtime/config.js';

export interface ConsoleOptions {
  /** The folder with index.html and the assets; default console/public beside this file (also from dist/). */
  assetsDir?: string;
}

/** console/public next to this file when run from source; dist/console → ../../console/public when compiled. */
export function defaultAssetsDir(): string {
  const candidates = [
    path.join(import.meta.dirname, 'public'),
    path.resolve(import.meta.dirname, '../../console/public'),
  ];
  return candidates.find((d) => fs.existsSync(path.join(d, 'index.html'))) ?? candidates[0]!;
}

function loadAssets(dir: string): Map<string, Asset> {
  if (!fs.existsSync(path.join(dir, 'index.html')))
    throw new ConfigError(`console assets not found: ${dir}/index.html is missing`);
  const out = new Map<string, Asset>();
  const walk = (d: string) => {
    for (const ent of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, ent.name);
      if (ent.isDirectory()) walk(full);
      else if (ent.isFile() && ASSET_TYPES[path.extname(ent.name)]) {
        out.set(
          path.relative(dir, full).split(path.sep).join('/'),
          makeAsset(fs.readFileSync(full), ASSET_TYPES[path.extname(ent.name)]!),
        );
      }
    }
  };
  walk(dir);
  return out;
}

// The answers that are not files, for the OpenAPI document.
const Redirect = noBody('to `/`');
const NotModified = noBody('the browser has it (ETag)');

/** Register with `app.register(consolePlugin, opts)`: routes `/`, `/console`, `/console/*`. */
export const consolePlugin: FastifyPluginAsyncZod<ConsoleOptions> = async (app, o) => {
  useZodSchemas(app, 'query');
  const assets = loadAssets(o.assetsDir ?? defaultAssetsDir());
  const index = assets.get('index.html')!;
  const tags = ['console'];
  const pageSchema = {
    tags,
    summary: 'The console page',
    response: { 200: contentAnswer('the page, with a strict Content-Security-Policy', index.type), 304: NotModified },
  };

  const page = async (req: FastifyRequest, reply: FastifyReply) => {
    reply.header('content-security-policy', PAGE_CSP);
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'same-origin');
    return sendAsset(req, reply, index);
  };
  app.get('/', { schema: pageSchema }, page);
  app.get('/index.html', { schema: pageSchema }, page);
  app.get(
    '/console',
    { schema: { tags, summary: 'Redirects to the console page', response: { 302: Redirect } } },
    async (_req, reply) => reply.redirect('/', 302),
  );

  app.get(
    '/console/*',
    {
      schema: {
        tags,
        summary: 'A file of the console (console/public), by its path; 404 for anything else',
        params: z.strictObject({ '*': z.string().describe('the path under console/public, e.g. pages/review.js') }),
        response: {
          200: contentAnswer('the file, gzip when accepted', ...new Set(Object.values(ASSET_TYPES))),
          302: Redirect,
          304: NotModified,
          404: Failure,
        },
      },
    },
    async (req, reply) => {
      // Only the files loaded at start can be named: no path reaches the file system.
      const name = req.params['*'];
      const a = name === '' || name === 'index.html' ? undefined : assets.get(name);
      if (!a)
        return name === ''
          ? reply.redirect('/', 302)
          : reply.code(404).send({ error: 'not_found', message: `no console file ${name}` });
      return sendAsset(req, reply, a);
    },
  );
};
