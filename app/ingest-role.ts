// ROLE=ingest as production runs it (MQTT_URL and INFLUX_URL set): MQTT readings into InfluxDB and, with
// KAFKA_BROKERS, onto the bus, plus /readyz and /metrics. Composed here on its own because app/platform.ts loads
// every part of the platform (DuckDB, onnxruntime, sharp, aedes, the console) before it looks at the role: in
// ../shared/peer-bench that made ingest's peak RSS 220-240 MB for a job that needs about 100 (issue 19). Anything
// else (ROLE=ingest on the embedded store or broker) goes through startPlatform.
import { Registry } from 'prom-client';
import { buildApi } from '../api/server.js';
import { Ingest } from '../ingest/ingest.js';
import { ConfigError } from '../runtime/config.js';
import { diskMetrics } from '../runtime/disk.js';
import type { Logger } from '../runtime/log.js';
import { InfluxStore } from '../store/influxdb/store.js';
import { closedApiPlugin } from '../users/plugin.js';
import { influxOptions, openBus } from './backends.js';
import { ingestSettings, type AppConfig } from './config.js';
import type { Platform } from './platform.js';

/** True when startIngestRole serves this configuration. */
export const leanIngest = (cfg: AppConfig): boolean => cfg.ROLE === 'ingest' && !!cfg.INFLUX_URL && !!cfg.MQTT_URL;

export async function startIngestRole(cfg: AppConfig, log: Logger): Promise<Platform> {
  const registry = new Registry();
  diskMetrics(registry, { data: cfg.dataDir });
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse())
      await s().catch((e: Error) => log.error({ err: e.message }, 'error while stopping'));
  };
  try {
    const store = await InfluxStore.open(influxOptions(cfg, log));
    stops.push(() => store.close());
    log.info({ store: store.name }, 'store open');
    const bus = await openBus(cfg, log, registry);
    stops.push(() => bus.close());
    if (!cfg.KAFKA_BROKERS) {
      log.warn('ROLE=ingest without KAFKA_BROKERS: readings are stored, but no detector sees them (set KAFKA_BROKERS)');
    }
    const ingest = new Ingest({
      mqttUrl: cfg.MQTT_URL!,
      username: cfg.MQTT_USERNAME,
      password: cfg.MQTT_PASSWORD,
      ...ingestSettings(cfg, 'influxdb'),
      shareGroup: cfg.INGEST_SHARE_GROUP === '' ? undefined : cfg.INGEST_SHARE_GROUP,
      store,
      // On the in-process bus nobody in this process would read the readings (the other stages are other
      // processes, reachable through Kafka only): publishing them there would only fill memory.
      bus: cfg.KAFKA_BROKERS ? bus : undefined,
      logger: log.child({ part: 'ingest' }),
      registry,
    });
    await ingest.start();
    stops.push(() => ingest.stop());
    const api = await buildApi({
      store,
      registry,
      logger: log,
      readiness: { mqtt: () => ingest.connected, bus: () => bus.healthy() },
      // Processes without the users database serve no /api data at all.
      plugins: [
        async (app) => {
          await app.register(closedApiPlugin);
        },
      ],
      openapi: false,
      trustProxy: cfg.TRUST_PROXY,
      https: cfg.https ?? undefined,
    });
    await api.listen({ port: cfg.PORT, host: cfg.HOST }).catch((e: NodeJS.ErrnoException) => {
      throw e.code === 'EADDRINUSE'
        ? new ConfigError(`port ${cfg.PORT} is in use: stop the other server or set PORT`)
        : e;
    });
    stops.push(() => api.close());
    const port = (api.server.address() as { port: number }).port;
    return {
      mqttUrl: cfg.MQTT_URL!,
      mqttTlsPort: null,
      apiUrl: `${cfg.https ? 'https' : 'http'}://127.0.0.1:${port}`,
      store,
      bus,
      ingest,
      alerts: null,
      events: null,
      cases: null,
      api,
      hj212Port: null,
      mqttPasswords: null,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
