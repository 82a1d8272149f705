// Alert routes for staff and dashboards: list and filter, one alert with its history, acknowledge, resolve, notes,
// and a live stream (Server-Sent Events) of every change, bounded in number and buffer and ended with its session.
// An encapsulated plugin: `app.register(alertRoutes, { manager })`, with zod schemas on its routes (api/schemas.ts).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Failure, useZodSchemas } from '../api/schemas.js';
import { DeviceKindSchema, IdSchema } from '../contracts/index.js';
import { AlertError, type AlertManager } from './manager.js';
import type { Alert } from './types.js';
import { requireRole } from '../users/guard.js';
import type { Role } from '../users/types.js';

const ListQuery = z.strictObject({
  state: z.enum(['firing', 'acknowledged', 'resolved', 'open']).optional(),
  kind: DeviceKindSchema.optional(),
  district: IdSchema.optional(),
  device: IdSchema.optional(),
  limit: z.coerce.number().int().min(1).max(5000).default(500),
});
const Params = z.strictObject({ id: z.string().uuid('alert ids are UUIDs') });
// Who acted is the signed-in user (req.user, set by the auth guard), never a name in the body.
const Action = z.strictObject({ note: z.string().max(2000).optional() });
const NoteBody = z.strictObject({ note: z.string().min(1).max(2000) });
// What the answers hold, for the OpenAPI document (answers are sent as built: api/schemas.ts).
const AlertView = z.looseObject({
  id: z.string(),
  ruleId: z.string(),
  deviceId: z.string(),
  district: z.string(),
  kind: z.string(),
  metric: z.string(),
  severity: z.string(),
  state: z.enum(['firing', 'acknowledged', 'resolved']),
  firstSeen: z.string().describe('ISO 8601'),
  lastSeen: z.string().describe('ISO 8601'),
  resolvedAt: z.string().optional().describe('ISO 8601'),
  history: z.array(z.looseObject({ at: z.string(), type: z.string(), by: z.string(), note: z.string().optional() })),
});

const view = (a: Alert) => ({
  ...a,
  firstSeen: new Date(a.firstSeen).toISOString(),
  lastSeen: new Date(a.lastSeen).toISOString(),
  resolvedAt: a.resolvedAt === undefined ? undefined : new Date(a.resolvedAt).toISOString(),
  history: a.history.map((h) => ({ ...h, at: new Date(h.at).toISOString() })),
});

/** Bounds of the live alert stream. */
export interface AlertStreamLimits {
  /** Open streams in this process; beyond it 503. */
  maxStreams: number;
  /** Open streams per user (console tabs); beyond it 429. */
  maxStreamsPerUser: number;
  /** What may wait unsent for a client that does not read; beyond it its stream ends. */
  maxBufferedBytes: number;
}

// 100 streams are a city centre's staff with a few tabs each; 1 MiB is hundreds of alert changes.
export const ALERT_STREAM_LIMITS: AlertStreamLimits = {
  maxStreams: 100,
  maxStreamsPerUser: 4,
  maxBufferedBytes: 1024 * 1024,
};

/** Who may act on alerts (acknowledge, resolve, add notes), as the guard's rule for /api/alerts says. */
export const ALERT_ROLES: readonly Role[] = ['staff', 'admin'];

export interface AlertRoutesOptions {
  manager: AlertManager;
  limits?: AlertStreamLimits;
}

export const alertRoutes: FastifyPluginAsyncZod<AlertRoutesOptions> = async (
  app,
  { manager, limits = ALERT_STREAM_LIMITS },
) => {
  useZodSchemas(app, 'input');
  const tags = ['alerts'];

  app.get(
    '/api/alerts',
    {
      schema: {
        tags,
        summary: 'Alerts, open ones first, newest first',
        querystring: ListQuery,
        response: { 200: z.object({ items: z.array(AlertView), total: z.number().int() }), 400: Failure },
      },
    },
    async (req) => {
      const q = req.query;
      const { items, total } = await manager.list({
        state: q.state,
        kind: q.kind,
        district: q.district,
        deviceId: q.device,
        limit: q.limit,
      });
      return { items: items.map(view), total };
    },
  );

  // Open live streams, all together and per user: each holds a connection, a listener and its send buffer.
  let streams = 0;
  const streamsOf = new Map<string, number>();

  // Registered before /api/alerts/:id so "stream" is not taken for an id.
  app.get(
    '/api/alerts/stream',
    { schema: { tags, summary: 'Server-Sent Events: `event: alert` with the alert on every change' } },
    (req, reply) => {
      const who = req.user?.username ?? '';
      if (streams >= limits.maxStreams) {
        req.log.warn({ username: who, streams }, 'live alert stream refused: too many open');
        return reply.code(503).header('retry-after', '30').send({
          error: 'unavailable',
          message: '实时告警连接已满，请稍后再试 / too many live alert streams are open, try again later',
        });
      }
      if ((streamsOf.get(who) ?? 0) >= limits.maxStreamsPerUser) {
        return reply
          .code(429)
          .header('retry-after', '30')
          .send({
            error: 'too_many_requests',
            message: `每个用户最多 ${limits.maxStreamsPerUser} 个实时告警连接 / at most ${limits.maxStreamsPerUser} live alert streams per user: close another console tab`,
          });
      }
      // The stream ends with its session (logout, expiry, the user disabled) and on a role change: the browser's
      // EventSource reconnects, and the guard judges that request like any other.
      const watch = req.watchSession?.() ?? null;
      streams++;
      streamsOf.set(who, (streamsOf.get(who) ?? 0) + 1);
      reply.hijack();
      const res = reply.raw;
      let congested = false;
      let ended = false;
      const end = (why: string, abrupt = false) => {
        if (ended) return;
        ended = true;
        clearInterval(ping);
        manager.off('change', send);
        watch?.close();
        streams--;
        const n = (streamsOf.get(who) ?? 1) - 1;
        if (n > 0) streamsOf.set(who, n);
        else streamsOf.delete(who);
        if (why !== 'closed') req.log.info({ username: who, why }, 'live alert stream ended');
        // A client that does not read gets no goodbye: its buffer is full, so the socket is dropped.
        if (abrupt) res.destroy();
        else if (why !== 'closed') res.end(`event: end\ndata: ${JSON.stringify({ reason: why })}\n\n`);
      };
      const write = (text: string) => {
        if (ended) return;
        // Respect backpressure: while the client has not taken what was written (write() returned false), the buffer
        // may grow to maxBufferedBytes; beyond it the client is too slow and the stream ends. Its EventSource reconnects
        // and the console reloads the list, so a slow client misses nothing; the process never buffers without bound.
        if (congested && res.writableLength + Buffer.byteLength(text) > limits.maxBufferedBytes) {
          req.log.warn(
            { username: who, buffered: res.writableLength },
            'live alert stream ended: the client does not read',
          );
          return end('slow client', true);
        }
        if (!res.write(text)) congested = true;
      };
      res.on('drain', () => (congested = false));
      const send = (a: Alert) => write(`event: alert\ndata: ${JSON.stringify(view(a))}\n\n`);
      // A comment now and then keeps proxies from closing an idle stream.
      const ping = setInterval(() => write(': ping\n\n'), 15_000);
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      });
      write(': connected\n\n');
      manager.on('change', send);
      watch?.signal.addEventListener('abort', () => end(String(watch.signal.reason ?? 'session ended')));
      res.on('close', () => end('closed'));
    },
  );

  app.get(
    '/api/alerts/:id',
    {
      schema: {
        tags,
        summary: 'One alert with its history',
        params: Params,
        response: { 200: AlertView, 400: Failure, 404: Failure },
      },
    },
    async (req, reply) => {
      const a = await manager.get(req.params.id);
      return a ? view(a) : reply.code(404).send({ error: 'not_found', message: `no alert ${req.params.id}` });
    },
  );

  const act = (
    path: string,
    summary: string,
    f: (id: string, by: string, note?: string) => Promise<Alert>,
    body: typeof Action | typeof NoteBody,
  ) =>
    app.post(
      path,
      {
        preHandler: requireRole(...ALERT_ROLES),
        schema: {
          tags,
          summary,
          params: Params,
          body,
          response: { 200: AlertView, 400: Failure, 404: Failure, 409: Failure },
        },
      },
      async (req, reply) => {
        try {
          return view(await f(req.params.id, req.user!.username, req.body.note));
        } catch (e) {
          if (e instanceof AlertError)
            return reply
              .code(e.status as 404 | 409)
              .send({ error: e.status === 404 ? 'not_found' : 'conflict', message: e.message });
          throw e;
        }
      },
    );
  act(
    '/api/alerts/:id/ack',
    'Acknowledge, as the signed-in user',
    (id, by, note) => manager.acknowledge(id, by, note),
    Action,
  );
  act(
    '/api/alerts/:id/resolve',
    'Resolve, as the signed-in user',
    (id, by, note) => manager.resolve(id, by, note),
    Action,
  );
  act(
    '/api/alerts/:id/notes',
    'Add a note, as the signed-in user',
    (id, by, note) => manager.addNote(id, by, note!),
    NoteBody,
  );
};
