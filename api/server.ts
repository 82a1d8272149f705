// The HTTP kernel (fastify): health for orchestrators, Prometheus metrics, the OpenAPI document, and the features'
// route plugins (readings and dead letters from store/routes.ts, alerts, review...) behind the sign-in guard.
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { collectDefaultMetrics, type Registry } from 'prom-client';
import type { AlertManager } from '../alerts/manager.js';
import type { Logger } from '../runtime/log.js';
import type { ServerTls } from '../runtime/tls.js';
import { apiErrorHandler, apiFrameworkErrors, MAX_PARAM_LENGTH } from './errors.js';
import type { EventAnnotator } from '../review/routes.js';
import { httpMetrics, readinessMetrics } from './http-metrics.js';
import type { EventStore } from '../review/store.js';
import type { EvidenceStore } from '../vision/evidence/store.js';
import type { Store } from '../store/types.js';
import type { ResolutionPolicy } from '../store/resolution.js';

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
  /**
   * Serve /api data: /api/openapi.json and the readings and dead-letter routes (default true); false where no /api
   * data is served at all, as in a lean ingest process.
   */
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
  const readinessChecks = (): Record<string, () => boolean | Promise<boolean>> => ({
    store: () => o.store.ping(),
    ...o.readiness,
  });
  readinessMetrics(o.registry, readinessChecks);

  // The OpenAPI 3 document, built from the routes' zod schemas as they are registered (each feature's routes plugin,
  // api/schemas.ts); a route without a schema is listed by its method and path. Read by the console's API page.
  // Loaded only where /api is served: a lean ingest process (app/ingest-role.ts) keeps its memory (issue 19).
  if (o.openapi ?? true) {
    const [{ default: swagger }, { jsonSchemaTransform }] = await Promise.all([
      import('@fastify/swagger'),
      import('fastify-type-provider-zod'),
    ]);
    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: { title: 'City sensing platform API (城市感知与非现场执法平台)', version: '1' },
        tags: [
          { name: 'alerts', description: 'alerts/routes.ts' },
          { name: 'review', description: 'review/routes.ts' },
          { name: 'cases', description: 'cases/routes.ts' },
          { name: 'readings', description: 'store/routes.ts: readings and dead letters' },
          { name: 'stats', description: 'stats/routes.ts' },
          { name: 'exports', description: 'exports/routes.ts' },
          { name: 'reports', description: 'reports/routes.ts' },
          { name: 'console', description: 'console/: the page, its files, devices and rules' },
          { name: 'nbiot', description: 'ingest/nbiot/routes.ts: the carrier platform push' },
          { name: 'notices', description: 'notices/routes.ts: notices to parties, and the parties' },
          { name: 'party', description: "party/routes.ts: the party's public page and the reviewers' objections" },
          { name: 'users', description: 'users/plugin.ts, users/audit-route.ts: sign-in, accounts, the audit trail' },
          { name: 'cameras', description: 'cameras/routes.ts: cameras and zones registered in the console' },
          { name: 'devices', description: "devices/routes.ts: the device registry and the devices' MQTT credentials" },
          { name: 'map', description: "devices/map-routes.ts: the map's layers" },
          { name: 'duty', description: 'duty/routes.ts: the acknowledge link of a duty message' },
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

  for (const p of o.plugins ?? []) await p(app);
  // Each feature's routes are an encapsulated plugin, registered after the other stages' plugins: a child takes the
  // hooks its parent has when it is registered, and the sign-in guard (users/plugin.ts) comes among `plugins`.
  // Imported only by the processes that serve them (an ingest process loads no more than it needs: issue 19).
  // Readings and dead letters only where /api data is served: a lean ingest process's guard answers 401 to every /api
  // request anyway, and it loads no zod type provider (openapi: false).
  if (o.openapi ?? true)
    await app.register((await import('../store/routes.js')).storeRoutes, {
      store: o.store,
      resolution: o.resolution,
      now: o.now,
    });
  if (o.alerts) await app.register((await import('../alerts/routes.js')).alertRoutes, { manager: o.alerts });
  if (o.events && o.evidence) {
    await app.register((await import('../review/routes.js')).eventRoutes, {
      events: o.events,
      evidence: o.evidence,
      annotate: o.annotateEvent,
    });
  }

  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url}` }),
  );
  app.setErrorHandler(apiErrorHandler);
  return app;
}
