// Cases over HTTP: the list with each case's delivery status, one case, putting a failed delivery back in the
// outbox, the built-in case inbox, and the export of reviewed events as a training dataset.
// An encapsulated plugin: `app.register(caseRoutes, { cases, events, evidence })`, with zod schemas on its routes.
import { Readable } from 'node:stream';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { numericTs } from '../api/query.js';
import { described, Failure, useZodSchemas } from '../api/schemas.js';
import type { CaseService } from './service.js';
import { TimestampSchema } from '../contracts/index.js';
import { datasetTar } from '../review/dataset.js';
import type { EventStore } from '../review/store.js';
import type { EvidenceStore } from '../vision/evidence/store.js';
import { requireRole } from '../users/guard.js';
import type { Role } from '../users/types.js';

/** Who may read cases and the inbox, and export the dataset. */
export const CASE_READ_ROLES: readonly Role[] = ['reviewer', 'admin'];
/** Who may put a failed case back in the outbox. */
export const CASE_ADMIN_ROLES: readonly Role[] = ['admin'];

const ListQuery = z.strictObject({
  status: z.enum(['pending', 'delivered', 'failed']).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});
const InboxQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});
const Params = z.strictObject({ id: z.string().min(1).max(100) });
const ExportQuery = z.strictObject({
  from: TimestampSchema.optional(),
  to: TimestampSchema.optional(),
  format: z.literal('tar').default('tar'),
});
// What the answers hold, for the OpenAPI document (answers are sent as built: api/schemas.ts).
const CaseView = z.looseObject({
  id: z.string(),
  delivery: z.looseObject({ status: z.enum(['pending', 'delivered', 'failed']) }),
});
const Page = (item: z.ZodType) => z.looseObject({ items: z.array(item), total: z.number().int() });

export interface CaseRoutesOptions {
  cases: CaseService;
  /** The export reads reviewed events and their evidence; without these it is not served. */
  events?: EventStore;
  evidence?: EvidenceStore;
}

export const caseRoutes: FastifyPluginAsyncZod<CaseRoutesOptions> = async (app, o) => {
  // An issue about the input as a whole (an unknown key) is named "body", as before the schemas (also for queries).
  useZodSchemas(app, 'body');
  const tags = ['cases'];
  const read = { preHandler: requireRole(...CASE_READ_ROLES) };
  const CaseList = Page(CaseView);
  app.get(
    '/api/cases',
    {
      ...read,
      schema: {
        tags,
        summary: 'Cases with their delivery status',
        querystring: ListQuery,
        response: { 200: CaseList, 400: Failure },
      },
    },
    async (req) => described(CaseList, await o.cases.list(req.query)),
  );

  app.get(
    '/api/cases/:id',
    {
      ...read,
      schema: { tags, summary: 'One case', params: Params, response: { 200: CaseView, 400: Failure, 404: Failure } },
    },
    async (req, reply) => {
      const c = await o.cases.get(req.params.id);
      return c
        ? described(CaseView, c)
        : reply.code(404).send({ error: 'not_found', message: `no case ${req.params.id}` });
    },
  );

  app.post(
    '/api/cases/:id/retry',
    {
      preHandler: requireRole(...CASE_ADMIN_ROLES),
      schema: {
        tags,
        summary: 'Put a failed delivery back in the outbox (admin)',
        params: Params,
        response: { 200: CaseView.nullable(), 400: Failure, 404: Failure, 409: Failure },
      },
    },
    async (req, reply) => {
      const { id } = req.params;
      const c = await o.cases.get(id);
      if (!c) return reply.code(404).send({ error: 'not_found', message: `no case ${id}` });
      if (!(await o.cases.requeue(id))) {
        return reply.code(409).send({
          error: 'conflict',
          message: `case ${id} is ${c.delivery.status}: only a failed delivery is retried`,
        });
      }
      req.log.warn({ case: id, by: req.user!.username }, 'failed case put back in the outbox');
      return described(CaseView.nullable(), await o.cases.get(id));
    },
  );

  app.get(
    '/api/case-inbox',
    {
      ...read,
      schema: {
        tags,
        summary: 'The built-in case inbox; `enabled` when cases go there (no CASE_WEBHOOK_URL)',
        querystring: InboxQuery,
        response: { 200: Page(z.looseObject({})).extend({ enabled: z.boolean() }), 400: Failure },
      },
    },
    async (req) => {
      const res = await o.cases.inbox(req.query.limit, req.query.offset);
      // `enabled`: the built-in inbox is where cases go (no CASE_WEBHOOK_URL).
      return { ...res, enabled: o.cases.adapter.name === 'inbox' };
    },
  );

  const { events, evidence } = o;
  if (events && evidence) {
    app.get(
      '/api/export/dataset',
      {
        ...read,
        // from/to as ISO or epoch milliseconds: digits are read as a number before the schema sees them.
        preValidation: async (req) => {
          const q = req.query as Record<string, unknown>;
          q.from = numericTs(q.from);
          q.to = numericTs(q.to);
        },
        schema: {
          tags,
          summary: 'Reviewed events as a YOLO training dataset (tar)',
          querystring: ExportQuery,
          response: { 200: z.unknown().describe('a tar file (application/x-tar)'), 400: Failure },
        },
      },
      async (req, reply) => {
        const q = req.query;
        if (q.from !== undefined && q.to !== undefined && q.from >= q.to) {
          return reply.code(400).send({ error: 'bad_request', message: 'from must be earlier than to' });
        }
        const now = Date.now();
        const stamp = new Date(now)
          .toISOString()
          .replace(/[-:]/g, '')
          .replace(/\.\d+Z$/, 'Z');
        reply.header('content-type', 'application/x-tar');
        reply.header('content-disposition', `attachment; filename="city-dataset-${stamp}.tar"`);
        reply.header('cache-control', 'no-store');
        return reply.send(Readable.from(datasetTar({ events, evidence, query: { from: q.from, to: q.to }, now })));
      },
    );
  }
};
