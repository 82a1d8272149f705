// The HTTP API (PORT): readiness, metrics, readings, dead letters, and the routes the steps before it returned.
import type { FastifyInstance } from 'fastify';
import type { AlertManager } from '../../alerts/manager.js';
import { buildApi } from '../../api/server.js';
import type { Bus } from '../../bus/types.js';
import type { Ingest } from '../../ingest/ingest.js';
import type { RetentionConfig } from '../../operations/retention/config.js';
import type { EventAnnotator } from '../../review/routes.js';
import type { EventStore } from '../../review/store.js';
import { ConfigError } from '../../runtime/config.js';
import type { Store } from '../../store/types.js';
import type { EvidenceStore } from '../../vision/evidence/store.js';
import { EVERY_ROLE, type EveryRoleStep, type RoutePlugin } from './step.js';

export interface HttpInput {
  store: Store;
  bus: Bus;
  ingest: Ingest | null;
  alerts: AlertManager | null;
  events: EventStore | null;
  evidence: EvidenceStore;
  annotateEvent: EventAnnotator | undefined;
  plugins: RoutePlugin[];
  retention: RetentionConfig | null;
}

export const http: EveryRoleStep<HttpInput, { api: FastifyInstance; apiPort: number }> = {
  name: 'HTTP API',
  roles: EVERY_ROLE,
  async start(
    { cfg, log, registry, store, bus, ingest, alerts, events, evidence, annotateEvent, plugins, retention },
    stops,
  ) {
    const readiness: Record<string, () => boolean> = {};
    if (ingest) readiness.mqtt = () => ingest.connected;
    readiness.bus = () => bus.healthy();
    const api = await buildApi({
      store,
      registry,
      logger: log,
      readiness,
      alerts: alerts ?? undefined,
      events: events ?? undefined,
      evidence,
      annotateEvent,
      plugins,
      trustProxy: cfg.TRUST_PROXY,
      https: cfg.https ?? undefined,
      ...(retention ? { resolution: retention.readings } : {}),
    });
    await api.listen({ port: cfg.PORT, host: cfg.HOST }).catch((e: NodeJS.ErrnoException) => {
      throw e.code === 'EADDRINUSE'
        ? new ConfigError(`port ${cfg.PORT} is in use: stop the other server or set PORT`)
        : e;
    });
    stops.add(() => api.close());
    return { api, apiPort: (api.server.address() as { port: number }).port };
  },
};
