// Cases over HTTP: the list with each case's delivery status, one case, putting a failed delivery back in the
// outbox, the built-in case inbox, and the export of reviewed events as a training dataset.
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { CaseService } from '../cases/service.js';
import { TimestampSchema } from '../contracts/index.js';
import { datasetTar } from '../review/dataset.js';
import type { EventStore } from '../review/store.js';
import type { EvidenceStore } from '../vision/evidence/store.js';
import { requireRole } from '../users/guard.js';
import type { Role } from '../users/types.js';
import { badRequest } from './errors.js';

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

// Query strings carry numbers as text; epoch milliseconds are accepted as digits.
const numericTs = (v: unknown) => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v);

export interface CaseRoutesOptions {
  cases: CaseService;
  /** The export reads reviewed events and their evidence; without these it is not served. */
  events?: EventStore;
  evidence?: EvidenceStore;
}

export async function caseRoutes(app: FastifyInstance, o: CaseRoutesOptions): Promise<void> {
  const read = { preHandler: requireRole(...CASE_READ_ROLES) };
  app.get('/api/cases', read, async (req, reply) => {
    const q = ListQuery.safeParse(req.query);
    if (!q.success) return reply.code(400).send(badRequest(q.error));
    return o.cases.list(q.data);
  });

  app.get('/api/cases/:id', read, async (req, reply) => {
    const p = Params.safeParse(req.params);
    if (!p.success) return reply.code(400).send(badRequest(p.error));
    const c = await o.cases.get(p.data.id);
    return c ?? reply.code(404).send({ error: 'not_found', message: `no case ${p.data.id}` });
  });

  app.post('/api/cases/:id/retry', { preHandler: requireRole(...CASE_ADMIN_ROLES) }, async (req, reply) => {
    const p = Params.safeParse(req.params);
    if (!p.success) return reply.code(400).send(badRequest(p.error));
    const c = await o.cases.get(p.data.id);
    if (!c) return reply.code(404).send({ error: 'not_found', message: `no case ${p.data.id}` });
    if (!(await o.cases.requeue(p.data.id))) {
      return reply.code(409).send({ error: 'conflict', message: `case ${p.data.id} is ${c.delivery.status}: only a failed delivery is retried` });
    }
    req.log.warn({ case: p.data.id, by: req.user!.username }, 'failed case put back in the outbox');
    return o.cases.get(p.data.id);
  });

  app.get('/api/case-inbox', read, async (req, reply) => {
    const q = InboxQuery.safeParse(req.query);
    if (!q.success) return reply.code(400).send(badRequest(q.error));
    const res = await o.cases.inbox(q.data.limit, q.data.offset);
    // `enabled`: the built-in inbox is where cases go (no CASE_WEBHOOK_URL).
    return { ...res, enabled: o.cases.adapter.name === 'inbox' };
  });

  const { events, evidence } = o;
  if (events && evidence) {
    app.get('/api/export/dataset', read, async (req, reply) => {
      const raw = { ...(req.query as Record<string, unknown>) };
      raw.from = numericTs(raw.from);
      raw.to = numericTs(raw.to);
      const q = ExportQuery.safeParse(raw);
      if (!q.success) return reply.code(400).send(badRequest(q.error));
      if (q.data.from !== undefined && q.data.to !== undefined && q.data.from >= q.data.to) {
        return reply.code(400).send({ error: 'bad_request', message: 'from must be earlier than to' });
      }
      const now = Date.now();
      const stamp = new Date(now).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
      reply.header('content-type', 'application/x-tar');
      reply.header('content-disposition', `attachment; filename="city-dataset-${stamp}.tar"`);
      reply.header('cache-control', 'no-store');
      return reply.send(Readable.from(datasetTar({ events, evidence, query: { from: q.data.from, to: q.data.to }, now })));
    });
  }
}
