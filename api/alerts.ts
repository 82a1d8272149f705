// Alert routes for staff and dashboards: list and filter, one alert with its history, acknowledge, resolve, notes,
// and a live stream (Server-Sent Events) of every change.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { IdSchema, SensorKindSchema } from '../contracts/index.js';
import { AlertError, type AlertManager } from '../alerts/manager.js';
import type { Alert } from '../alerts/types.js';

const ListQuery = z.strictObject({
  state: z.enum(['firing', 'acknowledged', 'resolved', 'open']).optional(),
  kind: SensorKindSchema.optional(),
  district: IdSchema.optional(),
  device: IdSchema.optional(),
  limit: z.coerce.number().int().min(1).max(5000).default(500),
});
const Params = z.strictObject({ id: z.string().uuid('alert ids are UUIDs') });
// Who acted is the signed-in user (req.user, set by the auth guard), never a name in the body.
const Action = z.strictObject({ note: z.string().max(2000).optional() });
const NoteBody = z.strictObject({ note: z.string().min(1).max(2000) });

const view = (a: Alert) => ({
  ...a,
  firstSeen: new Date(a.firstSeen).toISOString(),
  lastSeen: new Date(a.lastSeen).toISOString(),
  resolvedAt: a.resolvedAt === undefined ? undefined : new Date(a.resolvedAt).toISOString(),
  history: a.history.map((h) => ({ ...h, at: new Date(h.at).toISOString() })),
});

export function alertRoutes(app: FastifyInstance, manager: AlertManager): void {
  const bad = (e: z.ZodError) => ({ error: 'bad_request', message: e.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ') });

  app.get('/api/alerts', async (req, reply) => {
    const q = ListQuery.safeParse(req.query);
    if (!q.success) return reply.code(400).send(bad(q.error));
    const { items, total } = await manager.list({ state: q.data.state, kind: q.data.kind, district: q.data.district, deviceId: q.data.device, limit: q.data.limit });
    return { items: items.map(view), total };
  });

  // Registered before /api/alerts/:id so "stream" is not taken for an id.
  app.get('/api/alerts/stream', (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write(': connected\n\n');
    const send = (a: Alert) => res.write(`event: alert\ndata: ${JSON.stringify(view(a))}\n\n`);
    // A comment now and then keeps proxies from closing an idle stream.
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    manager.on('change', send);
    req.raw.on('close', () => {
      clearInterval(ping);
      manager.off('change', send);
    });
  });

  app.get('/api/alerts/:id', async (req, reply) => {
    const p = Params.safeParse(req.params);
    if (!p.success) return reply.code(400).send(bad(p.error));
    const a = await manager.get(p.data.id);
    return a ? view(a) : reply.code(404).send({ error: 'not_found', message: `no alert ${p.data.id}` });
  });

  const act = (path: string, f: (id: string, by: string, note?: string) => Promise<Alert>, schema: typeof Action | typeof NoteBody) =>
    app.post(path, async (req, reply) => {
      const p = Params.safeParse(req.params);
      if (!p.success) return reply.code(400).send(bad(p.error));
      const b = schema.safeParse(req.body ?? {});
      if (!b.success) return reply.code(400).send(bad(b.error));
      try {
        const user = (req as { user?: { username: string } | null }).user;
        if (!user) return reply.code(401).send({ error: 'unauthorized', message: 'sign in first' });
        return view(await f(p.data.id, user.username, b.data.note));
      } catch (e) {
        if (e instanceof AlertError) return reply.code(e.status).send({ error: e.status === 404 ? 'not_found' : 'conflict', message: e.message });
        throw e;
      }
    });
  act('/api/alerts/:id/ack', (id, by, note) => manager.acknowledge(id, by, note), Action);
  act('/api/alerts/:id/resolve', (id, by, note) => manager.resolve(id, by, note), Action);
  act('/api/alerts/:id/notes', (id, by, note) => manager.addNote(id, by, note!), NoteBody);
}
