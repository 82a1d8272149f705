// The read side of the store over HTTP: a device's readings (raw, or the 15-minute aggregates for long ranges) and the
// dead letters, the messages that were refused with the reason. Both read only the Store interface (types.ts), which
// is this folder's, so the routes live beside it rather than in the HTTP kernel.
// An encapsulated plugin: `app.register(storeRoutes, { store, resolution })`, with zod schemas on its routes.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { numericTsQuery } from '../api/query.js';
import { Failure, useZodSchemas } from '../api/schemas.js';
import { IdSchema, TimestampSchema, type DeadLetter, type DeadLetterView } from '../contracts/index.js';
import { pickResolution, type ResolutionPolicy } from './resolution.js';
import { aggregatesOf, type Store } from './types.js';

const ReadingsQuery = z.strictObject({
  device: IdSchema,
  metric: z.string().min(1).max(64).optional(),
  from: TimestampSchema.optional().describe('ISO 8601 or epoch ms, inclusive'),
  to: TimestampSchema.optional().describe('ISO 8601 or epoch ms, exclusive'),
  limit: z.coerce.number().int().min(1).max(100_000).default(10_000),
  /** `auto` (default): raw or 15-minute aggregates by the range (resolution.ts); or ask for one. */
  resolution: z.enum(['auto', 'raw', '15m']).default('auto'),
});
const DeadLettersQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
});
// What the answers hold, for the OpenAPI document (answers are sent as built: api/schemas.ts).
const Readings = z.object({
  resolution: z.enum(['raw', '15m']),
  readings: z.array(
    z.looseObject({
      ts: z.string().describe('ISO 8601'),
      metrics: z
        .record(z.string(), z.number())
        .describe('values, or the means of a 15-minute bucket (with max, min, count and leq beside them)'),
      flags: z.record(z.string(), z.string()).optional().describe('only on readings with data flags other than N'),
    }),
  ),
  total: z.number().int().describe('all matching readings; `readings` holds at most `limit` of them'),
});
const DeadLetterItem = z.object({
  topic: z.string(),
  reason: z.string(),
  receivedAt: z.string().describe('ISO 8601'),
  payload: z.string(),
  payloadEncoding: z.enum(['utf8', 'base64']),
  payloadBytes: z
    .number()
    .int()
    .describe('the size as received: more than the payload when only its first 4 KiB were kept'),
});

/** A dead letter as the API shows it: the payload as text when it is UTF-8, else base64. */
export function viewDeadLetter(d: DeadLetter): DeadLetterView {
  const text = d.payload.toString('utf8');
  const isText = Buffer.from(text, 'utf8').equals(d.payload) && !/[\u0000-\u0008\u000e-\u001f]/.test(text);
  return {
    topic: d.topic,
    reason: d.reason,
    receivedAt: new Date(d.receivedAt).toISOString(),
    payload: isText ? text : d.payload.toString('base64'),
    payloadEncoding: isText ? 'utf8' : 'base64',
    payloadBytes: d.payloadBytes ?? d.payload.length,
  };
}

export interface StoreRoutesOptions {
  store: Store;
  /** When /api/readings answers from the 15-minute aggregates (config/retention.json); always raw when absent. */
  resolution?: ResolutionPolicy;
  /** Now, for the choice of resolution (tests). */
  now?: () => number;
}

export const storeRoutes: FastifyPluginAsyncZod<StoreRoutesOptions> = async (app, o) => {
  useZodSchemas(app, 'query');
  const tags = ['readings'];

  app.get(
    '/api/readings',
    {
      preValidation: numericTsQuery('from', 'to'),
      schema: {
        tags,
        summary: "A device's readings from `from` on, raw or as 15-minute aggregates",
        querystring: ReadingsQuery,
        response: { 200: Readings, 400: Failure },
      },
    },
    async (req, reply) => {
      const q = req.query;
      if (q.from !== undefined && q.to !== undefined && q.from >= q.to) {
        return reply.code(400).send({ error: 'bad_request', message: 'from must be earlier than to' });
      }
      const rq = { deviceId: q.device, metric: q.metric, from: q.from, to: q.to, limit: q.limit };
      const store = o.store;
      const aggregates = aggregatesOf(store);
      const resolution =
        q.resolution !== 'auto'
          ? q.resolution
          : o.resolution && aggregates
            ? pickResolution(o.resolution, q, (o.now ?? Date.now)())
            : 'raw';
      if (resolution === '15m') {
        if (!aggregates)
          return reply
            .code(400)
            .send({ error: 'bad_request', message: `the ${store.name} store keeps no 15-minute aggregates` });
        const res = await aggregates.queryAggregates(rq);
        // metrics: the means, so a chart draws aggregates like readings; max, min, count and Leq beside them.
        return {
          resolution,
          readings: res.readings.map((r) => ({ ...r, ts: new Date(r.ts).toISOString() })),
          total: res.total,
        };
      }
      const res = await store.query(rq);
      return {
        resolution,
        readings: res.readings.map((r) =>
          r.flags
            ? { ts: new Date(r.ts).toISOString(), metrics: r.metrics, flags: r.flags }
            : { ts: new Date(r.ts).toISOString(), metrics: r.metrics },
        ),
        total: res.total,
      };
    },
  );

  app.get(
    '/api/dead-letters',
    {
      schema: {
        tags,
        summary: 'Messages that were refused, with the reason, newest first',
        querystring: DeadLettersQuery,
        response: { 200: z.object({ items: z.array(DeadLetterItem), total: z.number().int() }), 400: Failure },
      },
    },
    async (req) => {
      const res = await o.store.list(req.query.limit);
      return { items: res.items.map(viewDeadLetter), total: res.total };
    },
  );
};
