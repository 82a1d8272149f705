// The bus between stages. `createBus` picks the implementation: Kafka when brokers are given, else in-process.
import type { Logger } from '../runtime/log.js';
import type { KafkaBusOptions } from './kafka.js';
import { MemoryBus, type MemoryBusOptions } from './memory.js';
import type { Bus } from './types.js';

export * from './types.js';
export {
  busDeadLetterTopic,
  jsonDecoder,
  subscribeDecoded,
  type DecodedMessage,
  type DecodedSubscribeOptions,
  type Decoder,
} from './decoded.js';
// KafkaBus is imported from './kafka.js' where it is wanted: loading it loads librdkafka (about 10 MB), which a
// process on the in-process bus never uses.
export type { KafkaBusOptions, LibrdkafkaSettings } from './kafka.js';
export { BusFullError, MemoryBus, murmur2, partitionFor, type MemoryBusOptions } from './memory.js';

export interface BusConfig {
  /** Kafka bootstrap servers (host:port,...). Unset or empty: the in-process MemoryBus. */
  brokers?: string;
  /** Kafka client.id. */
  clientId?: string;
  /** Kafka topic and group prefix. Default "city.". */
  topicPrefix?: string;
  /** Partitions of the Kafka topics created at start-up. Default 12. */
  partitions?: number;
  logger?: Logger;
  /** Further KafkaBus options (delivery timeout, session timeout, extra librdkafka settings...). */
  kafka?: Partial<KafkaBusOptions>;
  /** MemoryBus options (partitions default 4, retention caps...). */
  memory?: MemoryBusOptions;
}

/** Creates and starts the bus: connected (Kafka: topics exist, producer connected) when the promise resolves. */
export async function createBus(config: BusConfig): Promise<Bus> {
  if (config.brokers) {
    const { KafkaBus } = await import('./kafka.js');
    return KafkaBus.start({
      ...config.kafka,
      brokers: config.brokers,
      ...(config.clientId !== undefined ? { clientId: config.clientId } : {}),
      ...(config.topicPrefix !== undefined ? { topicPrefix: config.topicPrefix } : {}),
      ...(config.partitions !== undefined ? { partitions: config.partitions } : {}),
      ...(config.logger ? { logger: config.logger } : {}),
    });
  }
  return new MemoryBus({
    ...config.memory,
    ...(config.logger && !config.memory?.logger ? { logger: config.logger } : {}),
  });
}
