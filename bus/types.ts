// The bus between stages: ingest publishes validated readings, detectors and alerts consume them; later frames,
// events, alerts and cases travel the same way. Two implementations behind this one interface: in-process for the
// embedded default, Kafka for production. Delivery is at least once: consumers must tolerate repeats.

// `status` carries device status changes (online, and offline from the MQTT last will), keyed by device.
// `rechecks` asks the vision workers to look at a zone again after a notice; `recheck-results` carries their answer.
// `cameras` carries the cameras registered in the console (cameras/) to the vision workers, so they apply a change live.
export const BUS_TOPICS = [
  'readings',
  'status',
  'frames',
  'events',
  'alerts',
  'cases',
  'rechecks',
  'recheck-results',
  'cameras',
] as const;
export type BusTopic = (typeof BUS_TOPICS)[number];

export interface OutgoingMessage {
  /** Partitioning key: device id or camera id, so one source stays ordered and always reaches the same worker. */
  key: string;
  value: Buffer | string;
}

export interface BusMessage {
  topic: BusTopic;
  key: string;
  value: Buffer;
  partition: number;
  offset: number;
  /** Broker timestamp, epoch ms. */
  timestamp: number;
}

export interface SubscribeOptions {
  /** At most this many messages per handler call. */
  maxBatch?: number;
  /**
   * A group of one process that wants only what is published from now on (a broadcast, like re-check requests that
   * every vision worker must see): it starts at the newest message instead of the oldest retained, and commits no
   * offsets, so the broker forgets the group once the process leaves instead of keeping one per process that ever
   * ran (Kafka keeps committed offsets for offsets.retention.minutes, 7 days by default).
   */
  ephemeral?: boolean;
}

export interface Subscription {
  /** Leaves the group cleanly (commits what was processed). */
  close(): Promise<void>;
}

export interface Bus {
  readonly name: string;
  /**
   * Publishes messages; resolves only when the broker has acknowledged every one of them (Kafka: acks=all,
   * idempotent producer, delivery reports awaited). Rejects if any could not be delivered.
   */
  publish(topic: BusTopic, messages: readonly OutgoingMessage[]): Promise<void>;
  /**
   * Joins consumer group `group` on `topic`. The handler gets messages in partition order; their offsets are
   * committed only after the handler resolved (at least once). A handler that throws gets the same messages again.
   */
  subscribe(
    topic: BusTopic,
    group: string,
    handler: (batch: BusMessage[]) => Promise<void>,
    opts?: SubscribeOptions,
  ): Promise<Subscription>;
  /** True while the bus can deliver (for /readyz). */
  healthy(): boolean;
  close(): Promise<void>;
}
