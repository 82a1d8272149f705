// The composition root: wires broker, store, bus, ingest, API and the simulated fleet into one running platform.
// `npm start` runs it with the embedded defaults (ROLE=all); production runs several processes of ROLE=ingest and
// one ROLE=api against Mosquitto, InfluxDB and Kafka. Tests and benchmarks start it in-process.
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../api/server.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../broker/embedded.js';
import { createBus } from '../bus/index.js';
import type { Bus } from '../bus/types.js';
import { AlertManager } from '../alerts/manager.js';
import { startAlertService } from '../alerts/service.js';
import { DuckDbAlertStore } from '../alerts/store.js';
import { DetectorService } from '../detectors/service.js';
import { EdgeAgent } from '../edge/agent.js';
import { Ingest } from '../ingest/ingest.js';
import { ConfigError } from '../runtime/config.js';
import type { Logger } from '../runtime/log.js';
import { makeFleet } from '../simulators/fleet.js';
import { DuckDbStore } from '../store/duckdb/store.js';
import { InfluxStore } from '../store/influxdb/store.js';
import type { Store } from '../store/types.js';
import type { AppConfig } from './config.js';

export interface Platform {
  mqttUrl: string | null;
  apiUrl: string;
  store: Store;
  bus: Bus;
  ingest: Ingest | null;
  alerts: AlertManager | null;
  api: FastifyInstance;
  stop(): Promise<void>;
}

async function openStore(cfg: AppConfig, log: Logger): Promise<Store> {
  if (cfg.INFLUX_URL) {
    return InfluxStore.open({
      url: cfg.INFLUX_URL,
      token: cfg.INFLUX_TOKEN!,
      org: cfg.INFLUX_ORG!,
      bucket: cfg.INFLUX_BUCKET!,
      logger: log.child({ part: 'influxdb' }),
    });
  }
  return DuckDbStore.open({
    file: path.join(cfg.dataDir, 'city.duckdb'),
    memoryLimit: cfg.DUCKDB_MEMORY_LIMIT,
    threads: cfg.DUCKDB_THREADS,
  });
}

export async function startPlatform(cfg: AppConfig, log: Logger): Promise<Platform> {
  const registry = new Registry();
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((e: Error) => log.error({ err: e.message }, 'error while stopping'));
  };
  try {
    const store = await openStore(cfg, log);
    stops.push(() => store.close());
    log.info({ store: store.name }, 'store open');

    let broker: EmbeddedBroker | null = null;
    let ingest: Ingest | null = null;
    let alerts: AlertManager | null = null;
    let mqttUrl: string | null = null;
    const bus = await createBus({
      brokers: cfg.KAFKA_BROKERS,
      clientId: `city-${cfg.ROLE}-${os.hostname()}`,
      topicPrefix: cfg.KAFKA_TOPIC_PREFIX,
      partitions: cfg.KAFKA_PARTITIONS,
      logger: log.child({ part: 'bus' }),
    }).catch((e: Error) => {
      throw new ConfigError(`cannot use Kafka at ${cfg.KAFKA_BROKERS} (KAFKA_BROKERS): ${e.message}`);
    });
    stops.push(() => bus.close());
    log.info({ bus: bus.name }, 'bus ready');

    if (cfg.ROLE === 'all' || cfg.ROLE === 'api') {
      // The alert service is the one writer of alert state; it runs beside the API that serves it.
      const alertStore = await DuckDbAlertStore.open(path.join(cfg.dataDir, 'alerts.duckdb'));
      stops.push(() => alertStore.close());
      alerts = new AlertManager(alertStore);
      const sub = await startAlertService({ bus, manager: alerts, logger: log.child({ part: 'alerts' }) });
      stops.push(() => sub.close());
    }
    if (cfg.ROLE === 'all' || cfg.ROLE === 'detectors') {
      const detectors = new DetectorService({ bus, rulesFile: cfg.RULES_FILE, logger: log.child({ part: 'detectors' }), registry });
      await detectors.start();
      stops.push(() => detectors.stop());
    }

    if (cfg.ROLE === 'all' || cfg.ROLE === 'ingest') {
      if (!cfg.MQTT_URL) {
        broker = await startEmbeddedBroker({ port: cfg.MQTT_PORT, host: cfg.HOST, logger: log });
        stops.push(() => broker!.close());
      }
      mqttUrl = cfg.MQTT_URL ?? broker!.url;
      ingest = new Ingest({
        mqttUrl,
        username: cfg.MQTT_USERNAME,
        password: cfg.MQTT_PASSWORD,
        // Stable per host so the broker keeps this instance's session (and its queued messages) across restarts.
        clientId: cfg.INGEST_CLIENT_ID ?? `ingest-${os.hostname()}`,
        // aedes speaks MQTT 3.1.1 only, so the embedded broker gets a plain subscription.
        shareGroup: broker || cfg.INGEST_SHARE_GROUP === '' ? undefined : cfg.INGEST_SHARE_GROUP,
        store,
        bus,
        logger: log.child({ part: 'ingest' }),
        registry,
        batchMaxReadings: cfg.INGEST_BATCH_MAX,
        batchMaxDelayMs: cfg.INGEST_BATCH_MS,
        maxPayloadBytes: cfg.INGEST_MAX_PAYLOAD_BYTES,
        receiveMaximum: cfg.INGEST_RECEIVE_MAXIMUM,
      });
      await ingest.start();
      stops.push(() => ingest!.stop());
    }

    const readiness: Record<string, () => boolean> = {};
    if (ingest) readiness.mqtt = () => ingest!.connected;
    readiness.bus = () => bus.healthy();
    const api = await buildApi({ store, registry, logger: log, readiness, alerts: alerts ?? undefined });
    await api.listen({ port: cfg.PORT, host: cfg.HOST }).catch((e: NodeJS.ErrnoException) => {
      throw e.code === 'EADDRINUSE' ? new ConfigError(`port ${cfg.PORT} is in use: stop the other server or set PORT`) : e;
    });
    stops.push(() => api.close());
    const apiPort = (api.server.address() as { port: number }).port;

    if (cfg.SIMULATE && cfg.ROLE === 'all' && mqttUrl) {
      const agent = new EdgeAgent(
        {
          gatewayId: 'sim-gateway',
          mqtt: { url: mqttUrl, keepaliveS: 30, reconnectMinMs: 500, reconnectMaxMs: 30_000, settleMs: 1000 },
          buffer: { dir: path.join(cfg.dataDir, 'edge'), maxBytes: 64 * 1024 * 1024, segmentBytes: 1024 * 1024, fsyncMs: 1000 },
          publish: { inflight: 100, maxBatch: 100 },
          cameras: [],
          gatewayCredentials: {},
          devices: makeFleet({
            seed: cfg.SIM_SEED,
            districts: cfg.SIM_DISTRICTS.split(',').map((d) => d.trim()).filter(Boolean),
            perKind: cfg.SIM_PER_KIND,
            groundTruth: path.join(cfg.dataDir, 'simulator', 'ground-truth.jsonl'),
          }),
        },
        log.child({ part: 'simulator' }),
      );
      await agent.start();
      stops.push(() => agent.stop());
    }
    return { mqttUrl, apiUrl: `http://127.0.0.1:${apiPort}`, store, bus, ingest, alerts, api, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
