// The NB-IoT push receiver as its own process: `npx tsx ingest/nbiot/main.ts --config ingest/nbiot/nbiot.sample.json`
// (or NBIOT_CONFIG=...). It serves POST /api/ingest/nbiot, /healthz, /readyz (broker connected) and /metrics.
import { parseArgs } from 'node:util';
import path from 'node:path';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { ConfigError, runMain, untilSignal } from '../../runtime/config.js';
import { createLogger } from '../../runtime/log.js';
import { loadNbiotConfig } from './config.js';
import { MqttPublisher } from './publisher.js';
import { NBIOT_PATH, SEEN_FILE, nbiotRoutes } from './routes.js';
import { SeenIds } from './seen.js';

runMain('nbiot', async () => {
  const { values } = parseArgs({ options: { config: { type: 'string' } } });
  const file = values.config ?? process.env.NBIOT_CONFIG;
  if (!file)
    throw new ConfigError(
      'no config file: pass --config FILE or set NBIOT_CONFIG (see ingest/nbiot/nbiot.sample.json)',
    );
  const cfg = loadNbiotConfig(file);
  const log = createLogger('nbiot');
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  let seen: SeenIds;
  try {
    seen = SeenIds.open(path.join(cfg.idempotency.dir, SEEN_FILE), {
      maxIds: cfg.idempotency.maxIds,
      maxAgeMs: cfg.idempotency.maxAgeDays * 86_400_000,
    });
  } catch (e) {
    throw new ConfigError(`cannot use idempotency.dir ${cfg.idempotency.dir}: ${(e as Error).message}`);
  }
  const publisher = new MqttPublisher({
    url: cfg.mqtt.url,
    clientId: cfg.mqtt.clientId,
    username: cfg.mqtt.username,
    password: cfg.mqtt.password,
    caFile: cfg.mqtt.caFile,
    timeoutMs: cfg.mqtt.publishTimeoutMs,
    logger: log,
  });

  const app = Fastify({
    loggerInstance: log.child({ part: 'http' }, { level: 'warn' }) as FastifyBaseLogger,
    trustProxy: cfg.http.trustProxy,
  });
  await app.register(nbiotRoutes, { config: cfg, logger: log, publisher, seen, registry });
  app.get('/healthz', async () => ({ ok: true }));
  app.get('/readyz', async (_req, reply) =>
    publisher.connected ? { ok: true } : reply.code(503).send({ ok: false, broker: 'not connected' }),
  );
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  try {
    await app.listen({ host: cfg.http.host, port: cfg.http.port });
  } catch (e) {
    await publisher.close();
    seen.close();
    const err = e as NodeJS.ErrnoException;
    throw err.code === 'EADDRINUSE'
      ? new ConfigError(`port ${cfg.http.port} is in use: stop the other server or change http.port`)
      : e;
  }
  log.info(
    {
      url: `http://${cfg.http.host}:${cfg.http.port}${NBIOT_PATH}`,
      format: cfg.format,
      devices: cfg.devices.length,
      broker: cfg.mqtt.url,
    },
    'nbiot receiver listening',
  );

  const why = await untilSignal();
  log.info({ why }, 'stopping');
  await app.close();
  await publisher.close();
  seen.close();
});
