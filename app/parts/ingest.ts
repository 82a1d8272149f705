// Ingest: MQTT readings into the store and onto the bus, through the embedded broker (ROLE=all without MQTT_URL)
// or an external one; and the NB-IoT push receiver, which publishes to that broker.
import path from 'node:path';
import { SERVICE_TOPICS } from '../../broker/auth.js';
import { provisionMqttCredentials } from '../../broker/credentials.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../broker/embedded.js';
import type { Bus } from '../../bus/types.js';
import { Ingest } from '../../ingest/ingest.js';
import { loadNbiotConfig } from '../../ingest/nbiot/config.js';
import { NBIOT_PATH, nbiotRoutes } from '../../ingest/nbiot/routes.js';
import { ConfigError } from '../../runtime/config.js';
import { ingestSettings } from '../config.js';
import { makeFleet, type SimulatedDevice } from '../../simulators/fleet.js';
import type { Store } from '../../store/types.js';
import type { Step } from './step.js';

/** The embedded default's field gateway account (app/parts/gateway.ts), which the broker's credentials provide for. */
export const GATEWAY_ID = 'embedded-gateway';

export interface IngestServes {
  ingest: Ingest;
  broker: EmbeddedBroker | null;
  mqttUrl: string;
  /** Passwords of the embedded broker's platform accounts and simulated devices (MQTT_AUTH on). */
  mqttPasswords: Map<string, string> | null;
  /** The simulated sensor fleet of the embedded default (SIMULATE), which the field gateway runs. */
  fleet: SimulatedDevice[];
}

export const ingest: Step<{ store: Store; bus: Bus }, IngestServes> = {
  name: 'ingest',
  roles: ['all', 'ingest'],
  async start({ cfg, log, registry, store, bus }, stops) {
    // The simulated fleet is known before the broker starts: the broker needs each device's credentials.
    const fleet =
      cfg.SIMULATE && cfg.ROLE === 'all'
        ? makeFleet({
            seed: cfg.SIM_SEED,
            districts: cfg.SIM_DISTRICTS.split(',')
              .map((d) => d.trim())
              .filter(Boolean),
            perKind: cfg.SIM_PER_KIND,
            groundTruth: path.join(cfg.dataDir, 'simulator', 'ground-truth.jsonl'),
            demoAt: Date.now(),
          })
        : [];
    let mqttPasswords: Map<string, string> | null = null;
    let broker: EmbeddedBroker | null = null;
    if (!cfg.MQTT_URL) {
      if (cfg.MQTT_AUTH) {
        // Own credentials for every simulated device and for the platform's own connections; fresh passwords
        // for the platform's accounts at every start, accounts an operator added are kept.
        const credFile = path.join(cfg.dataDir, 'mqtt-credentials.json');
        const creds = await provisionMqttCredentials(credFile, {
          devices: fleet.map((d) => ({ deviceId: d.id, district: d.district, kind: d.kind })),
          services: [
            { username: 'ingest', ...SERVICE_TOPICS.ingest },
            { username: GATEWAY_ID, ...SERVICE_TOPICS.gateway(GATEWAY_ID) },
            { username: 'nbiot', ...SERVICE_TOPICS.nbiot },
            { username: 'notices', ...SERVICE_TOPICS.notices },
          ],
        });
        mqttPasswords = creds.passwords;
        broker = await startEmbeddedBroker({
          port: cfg.MQTT_PORT,
          host: cfg.HOST,
          logger: log,
          auth: creds.registry,
          authFile: credFile,
          tls: cfg.mqttTls ?? undefined,
        });
      } else {
        log.warn('MQTT_AUTH=0: the embedded broker accepts any client and any topic (development only)');
        broker = await startEmbeddedBroker({
          port: cfg.MQTT_PORT,
          host: cfg.HOST,
          logger: log,
          tls: cfg.mqttTls ?? undefined,
        });
      }
      const b = broker;
      stops.add(() => b.close());
    }
    const mqttUrl = cfg.MQTT_URL ?? broker!.url;
    const ingest = new Ingest({
      mqttUrl,
      username: mqttPasswords ? 'ingest' : cfg.MQTT_USERNAME,
      password: mqttPasswords ? mqttPasswords.get('ingest') : cfg.MQTT_PASSWORD,
      ...ingestSettings(cfg, store.name === 'duckdb' ? 'duckdb' : 'influxdb'),
      // aedes speaks MQTT 3.1.1 only, so the embedded broker gets a plain subscription.
      shareGroup: broker || cfg.INGEST_SHARE_GROUP === '' ? undefined : cfg.INGEST_SHARE_GROUP,
      store,
      bus,
      logger: log.child({ part: 'ingest' }),
      registry,
    });
    await ingest.start();
    stops.add(() => ingest.stop());
    return { ingest, broker, mqttUrl, mqttPasswords, fleet };
  },
};

/** The NB-IoT receiver at POST /api/ingest/nbiot (NBIOT_CONFIG): it publishes what it receives to the broker. */
export const nbiot: Step<{ mqttUrl: string | null; mqttPasswords: Map<string, string> | null }, object> = {
  name: 'NB-IoT receiver',
  roles: ['all', 'api'],
  async start({ cfg, log, registry, mqttUrl, mqttPasswords }) {
    if (!cfg.NBIOT_CONFIG) return {};
    const url = mqttUrl ?? cfg.MQTT_URL;
    if (!url) throw new ConfigError('NBIOT_CONFIG needs a broker: set MQTT_URL');
    const nbiot = loadNbiotConfig(cfg.NBIOT_CONFIG, {
      MQTT_URL: url,
      MQTT_USERNAME: mqttPasswords ? 'nbiot' : cfg.MQTT_USERNAME,
      MQTT_PASSWORD: mqttPasswords ? mqttPasswords.get('nbiot') : cfg.MQTT_PASSWORD,
      MQTT_CA_FILE: cfg.MQTT_CA_FILE,
      NBIOT_DATA_DIR: path.join(cfg.dataDir, 'nbiot'),
    });
    log.info({ path: NBIOT_PATH, format: nbiot.format, devices: nbiot.devices.length }, 'NB-IoT push receiver enabled');
    return {
      routes: [
        async (app) => {
          await app.register(nbiotRoutes, { config: nbiot, logger: log, registry });
        },
      ],
    };
  },
};
