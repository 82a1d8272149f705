// The store and bus settings every role derives from the same variables, in one place: app/platform.ts (every role)
// and app/ingest-role.ts (a production ingest process) open them alike.
import os from 'node:os';
import type { Registry } from 'prom-client';
import { createBus } from '../bus/index.js';
import type { Bus } from '../bus/types.js';
import { ConfigError } from '../runtime/config.js';
import type { Logger } from '../runtime/log.js';
import type { InfluxStoreOptions } from '../store/influxdb/store.js';
import type { AppConfig } from './config.js';

/** InfluxStore's options from INFLUX_* (INFLUX_URL set). */
export function influxOptions(cfg: AppConfig, log: Logger): InfluxStoreOptions {
  return {
    url: cfg.INFLUX_URL!,
    token: cfg.INFLUX_TOKEN!,
    org: cfg.INFLUX_ORG!,
    bucket: cfg.INFLUX_BUCKET!,
    write: {
      gzipThreshold: cfg.INFLUX_GZIP ? 1000 : Number.POSITIVE_INFINITY,
      concurrency: cfg.INFLUX_WRITE_CONCURRENCY,
    },
    // Ingest, the detectors and the vision stage only write (readings, their dead letters): their tokens read nothing.
    access: cfg.ROLE === 'ingest' || cfg.ROLE === 'detectors' || cfg.ROLE === 'vision' ? 'write' : 'read-write',
    logger: log.child({ part: 'influxdb' }),
  };
}

/** Kafka when KAFKA_BROKERS is set, else the in-process bus; a Kafka that cannot be used is the operator's to fix. */
export async function openBus(cfg: AppConfig, log: Logger, registry: Registry): Promise<Bus> {
  const bus = await createBus({
    brokers: cfg.KAFKA_BROKERS,
    clientId: `city-${cfg.ROLE}-${os.hostname()}`,
    topicPrefix: cfg.KAFKA_TOPIC_PREFIX,
    partitions: cfg.KAFKA_PARTITIONS,
    logger: log.child({ part: 'bus' }),
    kafka: { security: cfg.kafkaSecurity, registry },
  }).catch((e: Error) => {
    throw new ConfigError(`cannot use Kafka at ${cfg.KAFKA_BROKERS} (KAFKA_BROKERS): ${e.message}`);
  });
  log.info({ bus: bus.name }, 'bus ready');
  return bus;
}
