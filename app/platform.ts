// The composition root: wires broker, store, ingest, API and the simulated fleet into one running platform.
// `npm start` runs it with the embedded defaults; tests and benchmarks start it in-process.
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../api/server.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../broker/embedded.js';
import { EdgeAgent } from '../edge/agent.js';
import { Ingest } from '../ingest/ingest.js';
import type { Logger } from '../runtime/log.js';
import { makeFleet } from '../simulators/fleet.js';
import { DuckDbStore } from '../store/duckdb/store.js';
import type { Store } from '../store/types.js';
import type { AppConfig } from './config.js';

export interface Platform {
  mqttUrl: string;
  apiUrl: string;
  store: Store;
  ingest: Ingest;
  api: FastifyInstance;
  stop(): Promise<void>;
}

export async function startPlatform(cfg: AppConfig, log: Logger): Promise<Platform> {
  const registry = new Registry();
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((e: Error) => log.error({ err: e.message }, 'error while stopping'));
  };
  try {
    let broker: EmbeddedBroker | null = null;
    if (!cfg.MQTT_URL) {
      broker = await startEmbeddedBroker({ port: cfg.MQTT_PORT, host: cfg.HOST, logger: log });
      stops.push(() => broker!.close());
    }
    const mqttUrl = cfg.MQTT_URL ?? broker!.url;

    const store = await DuckDbStore.open({
      file: path.join(cfg.dataDir, 'city.duckdb'),
      memoryLimit: cfg.DUCKDB_MEMORY_LIMIT,
      threads: cfg.DUCKDB_THREADS,
    });
    stops.push(() => store.close());

    const ingest = new Ingest({
      mqttUrl,
      username: cfg.MQTT_USERNAME,
      password: cfg.MQTT_PASSWORD,
      // Stable per host so the broker keeps this instance's session (and its queued messages) across restarts.
      clientId: cfg.INGEST_CLIENT_ID ?? `ingest-${os.hostname()}`,
      // aedes speaks MQTT 3.1.1 only, so the embedded broker gets a plain subscription.
      shareGroup: broker || cfg.INGEST_SHARE_GROUP === '' ? undefined : cfg.INGEST_SHARE_GROUP,
      store,
      logger: log.child({ part: 'ingest' }),
      registry,
      batchMaxReadings: cfg.INGEST_BATCH_MAX,
      batchMaxDelayMs: cfg.INGEST_BATCH_MS,
      maxPayloadBytes: cfg.INGEST_MAX_PAYLOAD_BYTES,
      receiveMaximum: cfg.INGEST_RECEIVE_MAXIMUM,
    });
    await ingest.start();
    stops.push(() => ingest.stop());

    const api = await buildApi({ store, registry, logger: log, readiness: { mqtt: () => ingest.connected } });
    await api.listen({ port: cfg.PORT, host: cfg.HOST });
    stops.push(() => api.close());
    const apiPort = (api.server.address() as { port: number }).port;

    if (cfg.SIMULATE) {
      const agent = new EdgeAgent(
        {
          gatewayId: 'sim-gateway',
          mqtt: { url: mqttUrl, keepaliveS: 30, reconnectMinMs: 500, reconnectMaxMs: 30_000 },
          buffer: { dir: path.join(cfg.dataDir, 'edge'), maxBytes: 64 * 1024 * 1024, segmentBytes: 1024 * 1024, fsyncMs: 1000 },
          publish: { inflight: 100, maxBatch: 100 },
          devices: makeFleet({
            seed: cfg.SIM_SEED,
            districts: cfg.SIM_DISTRICTS.split(',').map((d) => d.trim()).filter(Boolean),
            perKind: cfg.SIM_PER_KIND,
            groundTruth: path.join(cfg.dataDir, 'simulator', 'ground-truth.jsonl'),
          }),
        },
        log.child({ part: 'simulator' }),
      );
      agent.start();
      stops.push(() => agent.stop());
    }
    return { mqttUrl, apiUrl: `http://127.0.0.1:${apiPort}`, store, ingest, api, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
