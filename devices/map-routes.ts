// What the console's map page needs besides the lists it reads anyway (devices, open alerts, pending events): the
// city's district and grid GeoJSON, the base-map tile URL template, and Leaflet itself, served from node_modules by
// this process so that the map works offline and the page's Content-Security-Policy ('self' only) holds.
// An encapsulated plugin: `app.register(mapRoutes, { districts, grid, tileUrl, tileAttribution })`, with zod schemas on
// its routes (api/schemas.ts).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { described, contentAnswer, useZodSchemas } from '../api/schemas.js';
import type { FeatureCollection } from './geo.js';

export interface MapRoutesOptions {
  districts: FeatureCollection | null;
  grid: FeatureCollection | null;
  /** Base-map tiles, `{z}/{x}/{y}` (and `{s}`) in it, e.g. the city's own tile server or 天地图 with its key; none = no base map. */
  tileUrl: string | null;
  tileAttribution: string;
}

// Only the files the page loads: the ESM build (runs as a module without a bundler), its CSS and the images the CSS
// names (the layer switch's icon).
const LEAFLET_FILES: Record<string, string> = {
  'leaflet.js': 'leaflet-src.esm.js',
  'leaflet.css': 'leaflet.css',
  'images/layers.png': 'images/layers.png',
  'images/layers-2x.png': 'images/layers-2x.png',
};
const TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  png: 'image/png',
};

function leafletAssets(): Map<string, { body: Buffer; type: string }> {
  const dist = path.join(path.dirname(createRequire(import.meta.url).resolve('leaflet/package.json')), 'dist');
  const out = new Map<string, { body: Buffer; type: string }>();
  for (const [name, file] of Object.entries(LEAFLET_FILES)) {
    out.set(name, { body: fs.readFileSync(path.join(dist, file)), type: TYPES[path.extname(name).slice(1)]! });
  }
  return out;
}

// A GeoJSON FeatureCollection, for the OpenAPI document (answers are sent as built: api/schemas.ts).
const Layer = z.looseObject({ type: z.literal('FeatureCollection'), features: z.array(z.looseObject({})) }).nullable();
const MapLayers = z.object({
  tileUrl: z.string().nullable().describe('`{z}/{x}/{y}` template of the base tiles; null: no base map'),
  tileAttribution: z.string(),
  districts: Layer,
  grid: Layer.describe('the unit grid cells, each with its 15-digit code as `properties.code`'),
});

/** `GET /api/map` (the layers and the tile template) and `GET /console/vendor/leaflet.js` and `leaflet.css`. */
export const mapRoutes: FastifyPluginAsyncZod<MapRoutesOptions> = async (app, o) => {
  useZodSchemas(app, 'query');
  const tags = ['map'];
  const assets = leafletAssets();
  for (const [name, a] of assets) {
    // Leaflet changes only with the package: a day of caching is safe.
    app.get(
      `/console/vendor/${name}`,
      {
        schema: {
          tags,
          summary: `Leaflet's ${name}, for the console's map page`,
          response: { 200: contentAnswer(`leaflet ${name}`, a.type.split(';')[0]!) },
        },
      },
      async (_req, reply) =>
        reply
          .type(a.type)
          .header('cache-control', 'public, max-age=86400')
          .header('x-content-type-options', 'nosniff')
          .send(a.body),
    );
  }
  app.get(
    '/api/map',
    {
      schema: {
        tags,
        summary: "The map's layers (district boundaries, grid cells) and base-tile template",
        response: { 200: MapLayers },
      },
    },
    async () =>
      described(MapLayers, {
        tileUrl: o.tileUrl,
        tileAttribution: o.tileAttribution,
        districts: o.districts,
        grid: o.grid,
      }),
  );
};
