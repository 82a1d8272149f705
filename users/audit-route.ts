// The audit trail for admins: what users.duckdb records (logins, refused logins, user, camera and device changes, with
// who and from where) together with the reviewers' decisions kept with their events, newest first, filterable by
// period, action and user, and as CSV for the bureau's records. Admins only: no ROUTE_ROLES rule names /api/audit.
// An encapsulated plugin: `app.register(auditRoutes, { list, decisions })`, with zod schemas on its routes (api/schemas.ts).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Failure, contentAnswer, useZodSchemas } from '../api/schemas.js';
import type { StoredEvent } from '../review/store.js';
import { requireRole } from './guard.js';
import type { AuditEntry } from './types.js';
import { csvStream } from '../exports/table.js';

const MAX = 10_000;

const Query = z.strictObject({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  action: z.string().max(64).optional(),
  user: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(MAX).default(500),
});

/** One line of the trail: the users' audit entry, or a review decision as one. */
export interface AuditLine {
  ts: string;
  action: string;
  /** The user, camera, device or event concerned. */
  subject: string;
  by: string;
  ip: string;
  detail: string;
}

export interface AuditRouteOptions {
  list: (limit: number, f: { from?: number; to?: number; action?: string; user?: string }) => Promise<AuditEntry[]>;
  /** Decided events of a period (the review queue's store), when this process has it. */
  decisions?: (q: { decidedFrom?: number; decidedTo?: number; limit: number }) => Promise<{ items: StoredEvent[] }>;
}

const Line = z.object({
  ts: z.string().describe('ISO 8601'),
  action: z.string(),
  subject: z.string(),
  by: z.string(),
  ip: z.string(),
  detail: z.string(),
});

export const auditRoutes: FastifyPluginAsyncZod<AuditRouteOptions> = async (app, o) => {
  useZodSchemas(app, 'query');
  const tags = ['users'];
  // The guard's default already keeps /api/audit to admins (no rule names it); said here too, where it is served.
  const admin = { preHandler: requireRole('admin') };
  const lines = async (q: z.output<typeof Query>): Promise<AuditLine[]> => {
    const from = q.from ? Date.parse(q.from) : undefined;
    const to = q.to ? Date.parse(q.to) : undefined;
    const { action, user, limit } = q;
    const out: AuditLine[] = (await o.list(limit, { from, to, action, user })).map((e) => ({
      ts: new Date(e.ts).toISOString(),
      action: e.action,
      subject: e.username,
      by: e.by,
      ip: e.ip,
      detail: e.detail ?? '',
    }));
    if (o.decisions && (!action || action === 'review_confirm' || action === 'review_reject')) {
      const { items } = await o.decisions({ decidedFrom: from ?? 0, decidedTo: to, limit: MAX });
      for (const s of items) {
        const r = s.review;
        if (!r) continue;
        const a = `review_${r.decision}`;
        if ((action && a !== action) || (user && r.by.username !== user && s.event.id !== user)) continue;
        out.push({
          ts: new Date(r.at).toISOString(),
          action: a,
          subject: s.event.id,
          by: r.by.username,
          ip: '',
          detail: [s.event.type, s.event.camera.id, r.reason, r.note].filter(Boolean).join(' · '),
        });
      }
    }
    return out.sort((a, b) => b.ts.localeCompare(a.ts)).slice(0, limit);
  };

  app.get(
    '/api/audit',
    {
      ...admin,
      schema: {
        tags,
        summary: 'The audit trail with the review decisions, newest first (admin)',
        querystring: Query,
        response: { 200: z.object({ items: z.array(Line) }), 400: Failure },
      },
    },
    async (req) => ({ items: await lines(req.query) }),
  );

  app.get(
    '/api/audit.csv',
    {
      ...admin,
      schema: {
        tags,
        summary: 'The audit trail as CSV (admin)',
        querystring: Query,
        response: { 200: contentAnswer('CSV, a header line first', 'text/csv'), 400: Failure },
      },
    },
    async (req, reply) => {
      const r = await lines(req.query);
      const cols = ['ts', 'action', 'subject', 'by', 'ip', 'detail'] as const;
      const rows = (async function* () {
        for (const l of r) yield cols.map((c) => l[c]);
      })();
      const table = { name: 'audit', columns: cols.map((key) => ({ key, header: key })), rows };
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="audit.csv"')
        .send(csvStream(table));
    },
  );
};
