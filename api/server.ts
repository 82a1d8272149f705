// The HTTP API (fastify): health for orchestrators, Prometheus metrics, and the read side of readings and dead
// letters. Every query is validated with zod; a bad one answers 400 with a message that says what is wrong.
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import { collectDefaultMetrics, type Registry } from 'prom-client';
import { z } from 'zod';
import { IdSchema, TimestampSchema, type DeadLetter, type DeadLetterView } from '../contracts/index.js';
import type { AlertManager } from '../alerts/manager.js';
import type { Logger } from '../runtime/log.js';
import type { ServerTls } from '../runtime/tls.js';
import { apiErrorHandler, apiFrameworkErrors, badRequest, MAX_PARAM_LENGTH } from './errors.js';
import { numericTs } from './query.js';
import type { EventAnnotator } from '../review/routes.js';
import { httpMetrics, readinessMetrics } from './http-metrics.js';
import type { EventStore } from '../review/store.js';
import type { EvidenceStore } from '../vision/evidence/store.js';
import { aggregatesOf, type Store } from '../store/types.js';
import { pickResolution, type ResolutionPolicy } from '../store/resolution.js';

export interface ApiOptions {
  store: Store;
  registry: Registry;
  logger: Logger;
  /** Alert routes are served when the process runs the alert service. */
  alerts?: AlertManager;
  /** The review queue and evidence routes are served when the process keeps them. */
  events?: EventStore;
  evidence?: EvidenceStore;
  /** Adds fields to events in the review queue (the notify loop's party preview and notice status). */
  annotateEvent?: EventAnnotator;
  /** Extra routes of other stages (the NB-IoT push receiver), registered as they are. */
  plugins?: ((app: FastifyInstance) => void | Promise<void>)[];
  /** Serve /api/openapi.json (default true); false where no /api data is served at all, as in a lean ingest process. */
  openapi?: boolean;
  /**
   * The reverse proxies in front of the API (fastify's trustProxy: addresses or CIDRs), so rate limits and logs see
   * the client's address from X-Forwarded-For instead of the proxy's. None by default.
   */
  trustProxy?: string[];
  /**
   * Serve HTTPS with this certificate (chain) and key instead of plain HTTP (HTTPS_CERT, HTTPS_KEY). The session
   * cookie is Secure on HTTPS, directly or through a trusted proxy's X-Forwarded-Proto (users/plugin.ts).
   */
  https?: ServerTls;
  /** Extra readiness checks by name (e.g. ingest's broker connection). */
  readiness?: Record<string, () => boolean | Promise<boolean>>;
  /** When /api/readings answers from the 15-minute aggregates (config/retention.json); always raw when absent. */
  resolution?: ResolutionPolicy;
  /** Now, for the choice of resolution (tests). */
  now?: () => number;
}

const ReadingsQuery = z.strictObject({
  device: IdSchema,
  metric: z.string().min(1).max(64).optional(),
  from: TimestampSchema.optional(),
  to: TimestampSchema.optional(),
  limit: z.coerce.number().int().min(1).max(100_000).default(10_000),
  /** `auto` (default): raw or 15-minute aggregates by the range (store/resolution.ts); or ask for one. */
  resolution: z.enum(['auto', 'raw', '15m']).default('auto'),
});

const DeadLettersQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
});

function badQuery(reply: FastifyReply, err: z.ZodError) {
  return reply.code(400).send(badRequest(err, 'query'));
}

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

export async function buildApi(o: ApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    // Requests are logged at warn and above only: a dashboard polling every few seconds would drown the log.
    loggerInstance: o.logger.child({ part: 'api' }, { level: 'warn' }) as FastifyBaseLogger,
    ...(o.trustProxy?.length ? { trustProxy: o.trustProxy } : {}),
    ...(o.https ? { https: { cert: o.https.cert, key: o.https.key } } : {}),
    // Path parameters are judged by the routes' schemas; the router's own refusals answer the API's 400 (errors.ts).
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: apiFrameworkErrors,
    // One instance type for HTTP and HTTPS: no route depends on the kind of server underneath.
  }) as unknown as FastifyInstance;
  collectDefaultMetrics({ register: o.registry });
  httpMetrics(app, o.registry);
  const readinessChecks = (): Record<string, () => boolean | Promise<boolean>> => ({ store: () => o.store.ping(), ...o.readiness });
  readinessMetrics(o.registry, readinessChecks);

  // The OpenAPI 3 document, built from the routes' zod schemas as they are registered (each feature's routes plugin,
  // api/schemas.ts); a route without a schema is listed by its method and path. Read by the console's API page.
  // Loaded only where /api is served: a lean ingest process (app/ingest-role.ts) keeps its memory (issue 19).
  if (o.openapi ?? true) {
    const [{ default: swagger }, { jsonSchemaTransform }] = await Promise.all([import('@fastify/swagger'), import('fastify-type-provider-zod')]);
    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: { title: 'City sensing platform API (城市感知与非现场执法平台)', version: '1' },
        tags: [
          { name: 'alerts', description: 'alerts/routes.ts' },
          { name: 'review', description: 'review/routes.ts' },
          { name: 'cases', description: 'cases/routes.ts' },
        ],
      },
      transform: jsonSchemaTransform,
    });
    app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  }

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const checks: Record<string, boolean> = {};
    for (const [name, check] of Object.entries(readinessChecks())) checks[name] = await check();
    const ready = Object.values(checks).every(Boolean);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
  });

  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', o.registry.contentType);
    return o.registry.metrics();
  });

  app.get('/api/readings', async (req, reply) => {
    const raw = { ...(req.query as Record<string, unknown>) };
    raw.from = numericTs(raw.from);
    raw.to = numericTs(raw.to);
    const q = ReadingsQuery.safeParse(raw);
    if (!q.success) return badQuery(reply, q.error);
    if (q.data.from !== undefined && q.data.to !== undefined && q.data.from >= q.data.to) {
      return reply.code(400).send({ error: 'bad_request', message: 'from must be earlier than to' });
    }
    const rq = { deviceId: q.data.device, metric: q.data.metric, from: q.data.from, to: q.data.to, limit: q.data.limit };
    const store = o.store;
    const aggregates = aggregatesOf(store);
    const resolution =
      q.data.resolution !== 'auto' ? q.data.resolution : o.resolution && aggregates ? pickResolution(o.resolution, q.data, (o.now ?? Date.now)()) : 'raw';
    if (resolution === '15m') {
      if (!aggregates) return reply.code(400).send({ error: 'bad_request', message: `the ${store.name} store keeps no 15-minute aggregates` });
      const res = await aggregates.queryAggregates(rq);
      // metrics: the means, so a chart draws aggregates like readings; max, min, count and Leq beside them.
      return { resolution, readings: res.readings.map((r) => ({ ...r, ts: new Date(r.ts).toISOString() })), total: res.total };
    }
    const res = await store.query(rq);
    return {
      resolution,
      readings: res.readings.map((r) => (r.flags ? { ts: new Date(r.ts).toISOString(), metrics: r.metrics, flags: r.flags } : { ts: new Date(r.ts).toISOString(), metrics: r.metrics })),
      total: res.total,
    };
  });

  app.get('/api/dead-letters', async (req, reply) => {
    const q = DeadLettersQuery.safeParse(req.query);
    if (!q.success) return badQuery(reply, q.error);
    const res = await o.store.list(q.data.limit);
    return { items: res.items.map(viewDeadLetter), total: res.total };
  });

  for (const p of o.plugins ?? []) await p(app);
  // Each feature's routes are an encapsulated plugin, registered after the other stages' plugins: a child takes the
  // hooks its parent has when it is registered, and the sign-in guard (users/plugin.ts) comes among `plugins`.
  // Imported only by the processes that serve them (an ingest process loads no more than it needs: issue 19).
  if (o.alerts) await app.register((await import('../alerts/routes.js')).alertRoutes, { manager: o.alerts });
  if (o.events && o.evidence) {
    await app.register((await import('../review/routes.js')).eventRoutes, { events: o.events, evidence: o.evidence, annotate: o.annotateEvent });
  }

  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url}` }));
  app.setErrorHandler(apiErrorHandler);
  return app;
}
