// GET /api/stats: counts and rates over a period by district, grid cell, device, site or type (stats.ts); and the
// console's chart library. An encapsulated plugin: `app.register(statsRoutes, { sources, placeOf })`, with zod schemas.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { numericTsQuery } from '../api/query.js';
import { contentAnswer, described, Failure, useZodSchemas } from '../api/schemas.js';
import { requireRole } from '../users/guard.js';
import type { Role } from '../users/types.js';
import type { PlaceOf } from './place.js';
import { PeriodFields, periodError, resolvePeriod } from './period.js';
import { computeStats, STATS_GROUPS, type StatsSources } from './stats.js';

/** Staff read alerts, reviewers events and cases; the statistics count both, and managers of either read them. */
export const STATS_ROLES: readonly Role[] = ['staff', 'reviewer', 'admin'];
const DAY = 86_400_000;
/** Longer periods are refused: a year of city records is the largest the console and the reports ask for. */
export const STATS_MAX_PERIOD_MS = 366 * DAY;

export const StatsQuery = z.strictObject({ group: z.enum(STATS_GROUPS).default('district'), ...PeriodFields });
// What the answer holds, for the OpenAPI document (answers are sent as built: api/schemas.ts); stats/README.md has
// the fields of a row.
const StatsRow = z.looseObject({
  key: z.string(),
  exceedanceHours: z.number(),
  alerts: z.looseObject({}),
  events: z.looseObject({}),
  notices: z.looseObject({}),
  cases: z.looseObject({}),
  rates: z.looseObject({}),
});
const Stats = z.looseObject({
  group: z.enum(STATS_GROUPS),
  from: z.string().describe('ISO 8601'),
  to: z.string().describe('ISO 8601'),
  rows: z.array(StatsRow),
  total: StatsRow,
});

export interface StatsRoutesOptions {
  sources: StatsSources;
  placeOf?: PlaceOf;
}

// The console's charts (console/public/pages/stats.js) are uPlot's, served from node_modules by this process so the
// console works offline and its Content-Security-Policy ('self' only) holds.
const UPLOT_FILES = {
  'uplot.js': ['uPlot.esm.js', 'text/javascript; charset=utf-8'],
  'uplot.css': ['uPlot.min.css', 'text/css; charset=utf-8'],
} as const;

function uplotAssets(): Map<string, { body: Buffer; type: string }> {
  const dist = path.join(path.dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
  return new Map(
    Object.entries(UPLOT_FILES).map(([name, [file, type]]) => [
      name,
      { body: fs.readFileSync(path.join(dist, file)), type },
    ]),
  );
}

export const statsRoutes: FastifyPluginAsyncZod<StatsRoutesOptions> = async (app, o) => {
  // An issue about the query as a whole (an unknown key) is named "body", as before the schemas.
  useZodSchemas(app, 'body');
  for (const [name, a] of uplotAssets()) {
    // Changes only with the package: a day of caching is safe.
    app.get(
      `/console/vendor/${name}`,
      {
        schema: {
          tags: ['console'],
          summary: `uPlot, the console's charts (${name})`,
          response: { 200: contentAnswer('the file of the uplot package', a.type) },
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
    '/api/stats',
    {
      preHandler: requireRole(...STATS_ROLES),
      preValidation: numericTsQuery('from', 'to'),
      schema: {
        tags: ['stats'],
        summary: 'Counts and rates over a period by district, grid cell, device, site or type',
        querystring: StatsQuery,
        response: { 200: Stats, 400: Failure },
      },
    },
    async (req, reply) => {
      const q = req.query;
      const p = resolvePeriod(q, 7 * DAY);
      if (typeof p === 'string') return reply.code(400).send(periodError(p));
      if (p.to - p.from > STATS_MAX_PERIOD_MS)
        return reply.code(400).send(periodError('the period is longer than 366 days: ask for a shorter one'));
      const s = await computeStats(o.sources, { group: q.group, ...p, placeOf: o.placeOf });
      return described(Stats, { ...s, from: new Date(s.from).toISOString(), to: new Date(s.to).toISOString() });
    },
  );
};
