// GET /api/export/{readings|alerts|events|cases|stats}.{csv|xlsx}: the list routes' rows as files, with the list
// routes' filters and a period, streamed (tables.ts, table.ts). Each file is its own route, so the sign-in guard
// judges readings and alerts as staff data and events and cases as the reviewers'.
// An encapsulated plugin: `app.register(exportRoutes, { readings, alerts, events, cases, stats })`, with zod schemas.
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { numericTsQuery } from '../api/query.js';
import { contentAnswer, Failure, useZodSchemas } from '../api/schemas.js';
import type { Alert, AlertQuery } from '../alerts/types.js';
import type { CaseView, DeliveryStatus } from '../cases/types.js';
import { EVENT_TYPES, ID_CHARACTERS, ID_CHARACTERS_SAID, IdSchema, SensorKindSchema } from '../contracts/index.js';
import type { EventQuery, StoredEvent } from '../review/store.js';
import type { ReadingStore } from '../store/types.js';
import type { PlaceOf } from '../stats/place.js';
import { PeriodFields, periodError, resolvePeriod } from '../stats/period.js';
import { STATS_MAX_PERIOD_MS, STATS_ROLES, StatsQuery } from '../stats/routes.js';
import { computeStats, type StatsSources } from '../stats/stats.js';
import { requireRole } from '../users/guard.js';
import type { Role } from '../users/types.js';
import { csvStream, xlsxStream, type Table } from './table.js';
import { alertsTable, casesTable, eventsTable, readingsTable, statsTable } from './tables.js';

export const EXPORT_FORMATS = ['csv', 'xlsx'] as const;
export const EXPORT_STAFF_ROLES: readonly Role[] = ['staff', 'admin'];
export const EXPORT_REVIEW_ROLES: readonly Role[] = ['reviewer', 'admin'];
const DAY = 86_400_000;
/** Alerts are read in one list (their store has no pages); more than this in one export is refused, not cut. */
export const EXPORT_ALERTS_MAX = 100_000;

const CONTENT_TYPES = {
  csv: 'text/csv; charset=utf-8',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
} as const;

const ReadingsQuery = z.strictObject({
  // One device, or several separated by commas (the console's chart of several devices exports them together).
  // The pattern keeps the list to what ids may hold, so the OpenAPI document says so too (ids: contracts/readings.ts).
  device: z
    .string()
    .min(1)
    .max(2000)
    .regex(new RegExp(`^[,\\s${ID_CHARACTERS}]+$`), `device ids separated by commas: ${ID_CHARACTERS_SAID}`)
    .transform((s) =>
      s
        .split(',')
        .map((d) => d.trim())
        .filter(Boolean),
    )
    .pipe(z.array(IdSchema).min(1).max(50)),
  metric: z.string().min(1).max(64).optional(),
  ...PeriodFields,
});
const AlertsQuery = z.strictObject({
  state: z.enum(['firing', 'acknowledged', 'resolved', 'open']).optional(),
  kind: SensorKindSchema.optional(),
  district: IdSchema.optional(),
  device: IdSchema.optional(),
  ...PeriodFields,
});
const EventsQuery = z.strictObject({
  status: z.enum(['pending', 'confirmed', 'rejected']).optional(),
  camera: z.string().min(1).max(64).optional(),
  type: z.enum(EVENT_TYPES).optional(),
  ...PeriodFields,
});
const CasesQuery = z.strictObject({ status: z.enum(['pending', 'delivered', 'failed']).optional(), ...PeriodFields });

export interface ExportRoutesOptions {
  readings?: Pick<ReadingStore, 'query'>;
  alerts?: { list(q: AlertQuery): Promise<{ items: Alert[]; total: number }> };
  events?: { list(q: EventQuery): Promise<{ items: StoredEvent[] }> };
  cases?: { list(q: { status?: DeliveryStatus; limit: number; offset?: number }): Promise<{ items: CaseView[] }> };
  stats?: { sources: StatsSources; placeOf?: PlaceOf };
}

function send(
  reply: FastifyReply,
  t: Table,
  format: (typeof EXPORT_FORMATS)[number],
  from: number,
  to: number,
): FastifyReply {
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10).replace(/-/g, '');
  reply.header('content-type', CONTENT_TYPES[format]);
  reply.header('content-disposition', `attachment; filename="${t.name}-${day(from)}-${day(to)}.${format}"`);
  reply.header('cache-control', 'no-store');
  return reply.send(format === 'csv' ? csvStream(t) : xlsxStream(t));
}

type Handler<T> = (q: T, p: { from: number; to: number }) => Promise<Table | string> | Table | string;

function route<S extends z.ZodType<{ from?: number; to?: number }>>(
  app: Parameters<FastifyPluginAsyncZod>[0],
  name: string,
  roles: readonly Role[],
  schema: S,
  defaultMs: number,
  make: Handler<z.output<S>>,
): void {
  for (const format of EXPORT_FORMATS) {
    app.get(
      `/api/export/${name}.${format}`,
      {
        preHandler: requireRole(...roles),
        preValidation: numericTsQuery('from', 'to'),
        schema: {
          tags: ['exports'],
          summary: `The ${name} of a period as ${format === 'csv' ? 'CSV (UTF-8 with a BOM)' : 'an Excel workbook'}`,
          querystring: schema,
          response: {
            200: contentAnswer(`attachment; filename="${name}-{yyyymmdd}-{yyyymmdd}.${format}"`, CONTENT_TYPES[format]),
            400: Failure,
          },
        },
      },
      async (req, reply) => {
        const q = req.query as z.output<S>;
        const p = resolvePeriod(q, defaultMs);
        if (typeof p === 'string') return reply.code(400).send(periodError(p));
        const t = await make(q, p);
        if (typeof t === 'string') return reply.code(400).send(periodError(t));
        return send(reply, t, format, p.from, p.to);
      },
    );
  }
}

export const exportRoutes: FastifyPluginAsyncZod<ExportRoutesOptions> = async (app, o) => {
  // An issue about the query as a whole (an unknown key) is named "body", as before the schemas.
  useZodSchemas(app, 'body');
  const { readings, alerts, events, cases, stats } = o;
  if (readings)
    route(app, 'readings', EXPORT_STAFF_ROLES, ReadingsQuery, DAY, (q, p) =>
      readingsTable(readings, { devices: q.device, metric: q.metric, ...p }),
    );
  if (alerts) {
    route(app, 'alerts', EXPORT_STAFF_ROLES, AlertsQuery, 30 * DAY, async (q, p) => {
      const filter = { state: q.state, kind: q.kind, district: q.district, deviceId: q.device };
      const { total } = await alerts.list({ ...filter, limit: 1 });
      if (total > EXPORT_ALERTS_MAX)
        return `more than ${EXPORT_ALERTS_MAX} alerts match: narrow the filter (state, kind, district, device)`;
      return alertsTable(alerts, filter, p.from, p.to, EXPORT_ALERTS_MAX);
    });
  }
  if (events)
    route(app, 'events', EXPORT_REVIEW_ROLES, EventsQuery, 30 * DAY, (q, p) =>
      eventsTable(events, { status: q.status, cameraId: q.camera, type: q.type }, p.from, p.to),
    );
  if (cases)
    route(app, 'cases', EXPORT_REVIEW_ROLES, CasesQuery, 30 * DAY, (q, p) => casesTable(cases, q.status, p.from, p.to));
  if (stats) {
    route(app, 'stats', STATS_ROLES, StatsQuery, 7 * DAY, async (q, p) => {
      if (p.to - p.from > STATS_MAX_PERIOD_MS) return 'the period is longer than 366 days: ask for a shorter one';
      return statsTable(await computeStats(stats.sources, { group: q.group, ...p, placeOf: stats.placeOf }));
    });
  }
};
