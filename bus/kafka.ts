// The production bus: Apache Kafka through node-rdkafka (librdkafka). Publishing waits for every delivery report
// (idempotent producer, acks=all); consuming hands the handler batches in partition order and commits offsets only
// after the handler resolved; a handler that throws is sought back and gets the same messages again. Group
// membership uses the cooperative-sticky protocol. See bus/README.md for the guarantees and the settings.
import os from 'node:os';
import Kafka from 'node-rdkafka';
import type {
  ConsumerGlobalConfig,
  ConsumerTopicConfig,
  DeliveryReport,
  IAdminClient,
  KafkaConsumer,
  LibrdKafkaError,
  Message,
  Producer,
  ProducerGlobalConfig,
  ProducerTopicConfig,
  TopicPartition,
  TopicPartitionOffset,
} from 'node-rdkafka';
import { Gauge, type Registry } from 'prom-client';
import { silentLogger, type Logger } from '../runtime/log.js';
import {
  BUS_TOPICS,
  type Bus,
  type BusMessage,
  type BusTopic,
  type OutgoingMessage,
  type SubscribeOptions,
  type Subscription,
} from './types.js';

export type LibrdkafkaSettings = Record<string, string | number | boolean>;

export interface KafkaBusOptions {
  /** Bootstrap servers, host:port[,host:port...]. */
  brokers: string;
  /** client.id; consumers add "-<group>". Default city-<hostname>-<pid>. */
  clientId?: string;
  /** Prepended to topic names and group ids, so several deployments can share a cluster. Default "city.". */
  topicPrefix?: string;
  /** Partitions of the topics created at start-up (existing topics are left as they are). Default 12. */
  partitions?: number;
  /** Replication factor of created topics; -1 = the broker's default.replication.factor. Default -1. */
  replicationFactor?: number;
  logger?: Logger;
  /**
   * message.timeout.ms: how long a published message may wait for its acknowledgement (retries included) before
   * publish() rejects. Default 30 s: long enough for a broker restart, short enough that ingest retries while it
   * keeps the MQTT acknowledgements back.
   */
  deliveryTimeoutMs?: number;
  /** Consumer session.timeout.ms: a member that stops heartbeating loses its partitions after this. Default 10 s. */
  sessionTimeoutMs?: number;
  /** How long start-up and subscribe() wait for the brokers. Default 30 s. */
  connectTimeoutMs?: number;
  /** maxBatch when subscribe() gives none. Default 500. */
  maxBatch?: number;
  /** A failed handler call is retried after this, doubling per consecutive failure up to retryMaxMs. Default 100. */
  retryMinMs?: number;
  /** Default 5000. */
  retryMaxMs?: number;
  /** Pause between polls of an idle consumer (the fetch itself runs in librdkafka's threads). Default 50. */
  idlePollMs?: number;
  /** How often the producer's connection is checked when nothing was delivered meanwhile. Default 5000. */
  healthCheckMs?: number;
  /**
   * How every client of the bus (producer, consumers, admin) authenticates and encrypts: security.protocol, sasl.*,
   * ssl.* (kafkaSecuritySettings in kafka-security.ts, from KAFKA_SECURITY_PROTOCOL etc.). The per-client settings
   * below apply on top.
   */
  security?: LibrdkafkaSettings;
  /** Extra librdkafka settings for the producer, e.g. linger.ms, compression.type. */
  producerConfig?: LibrdkafkaSettings;
  /** Extra librdkafka settings for consumers, e.g. max.poll.interval.ms, fetch.max.bytes. */
  consumerConfig?: LibrdkafkaSettings;
  /** Extra librdkafka settings for the admin client that creates topics. Default: producerConfig. */
  adminConfig?: LibrdkafkaSettings;
  /** Where `bus_consumer_lag` is exported (the process's /metrics). */
  registry?: Registry;
}

const E = Kafka.CODES.ERRORS;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const describe = (e: unknown) => {
  const k = e as Partial<LibrdKafkaError> | null;
  if (k && typeof k === 'object' && typeof k.code === 'number' && k.code !== -1) return `${k.message} (code ${k.code})`;
  return String((e as Error)?.message ?? e);
};

interface Pending {
  topic: string;
  total: number;
  remaining: number;
  failed: number;
  firstError: unknown;
  settled: boolean;
  resolve(): void;
  reject(e: Error): void;
}

export class KafkaBus implements Bus {
  readonly name = 'kafka';
  readonly topicPrefix: string;
  private readonly log: Logger;
  private readonly clientId: string;
  private readonly deliveryTimeoutMs: number;
  private producer: Producer | null = null;
  private readonly subs = new Set<KafkaSubscription>();
  private readonly pending = new Set<Pending>();
  private enqueuing: Promise<void> = Promise.resolve();
  private up = false;
  private downSince = 0;
  private lastOk = 0;
  private fatal: Error | null = null;
  private closed = false;
  private healthTimer: NodeJS.Timeout | null = null;
  private probing = false;
  private lastErrorLog = new Map<string, number>();

  /** Creates the topics, connects the producer and resolves when the bus can publish. */
  static async start(o: KafkaBusOptions): Promise<KafkaBus> {
    const bus = new KafkaBus(o);
    try {
      await bus.start();
    } catch (e) {
      await bus.close().catch(() => {});
      throw e;
    }
    return bus;
  }

  constructor(readonly o: KafkaBusOptions) {
    if (!o.brokers) throw new Error('Kafka bus: brokers must be given (host:port[,host:port...])');
    this.topicPrefix = o.topicPrefix ?? 'city.';
    this.log = o.logger ?? silentLogger;
    this.clientId = o.clientId ?? `city-${os.hostname()}-${process.pid}`;
    this.deliveryTimeoutMs = o.deliveryTimeoutMs ?? 30_000;
    const subs = this.subs;
    if (o.registry) {
      // Read at scrape time from the consumers' own state: a lag that grows is a stage that cannot keep up (or is
      // stuck on a message), long before the topic's retention deletes what it has not read.
      new Gauge({
        name: 'bus_consumer_lag',
        help: 'Messages on the partitions this process consumes that its handler has not finished, by topic and group',
        labelNames: ['topic', 'group'] as const,
        registers: [o.registry],
        collect() {
          this.reset();
          const sums = new Map<string, { topic: string; group: string; lag: number }>();
          for (const sub of subs) {
            const k = `${sub.topic}\0${sub.group}`;
            const e = sums.get(k) ?? { topic: sub.topic, group: sub.group, lag: 0 };
            e.lag += sub.lag();
            sums.set(k, e);
          }
          for (const e of sums.values()) this.set({ topic: e.topic, group: e.group }, e.lag);
        },
      });
    }
  }

  /** The Kafka topic of a bus topic. */
  topicName(topic: BusTopic): string {
    if (!BUS_TOPICS.includes(topic))
      throw new Error(`Kafka bus: unknown topic "${String(topic)}" (expected one of ${BUS_TOPICS.join(', ')})`);
    return this.topicPrefix + topic;
  }

  /** The Kafka consumer group of a bus group. */
  groupId(group: string): string {
    return this.topicPrefix + group;
  }

  async start(): Promise<void> {
    await this.ensureTopics();
    const conf = {
      'metadata.broker.list': this.o.brokers,
      'client.id': this.clientId,
      // Exactly-once per partition into the log: no duplicates from internal retries, order kept; implies acks=all.
      'enable.idempotence': true,
      dr_cb: true,
      'socket.keepalive.enable': true,
      'reconnect.backoff.max.ms': 2000,
      ...this.librdkafkaSettings('producer'),
    } as ProducerGlobalConfig;
    const topicConf: ProducerTopicConfig = {
      acks: -1,
      'message.timeout.ms': this.deliveryTimeoutMs,
      // Java's default partitioner: a key maps to the same partition as in Java clients and in MemoryBus.
      partitioner: 'murmur2_random',
    };
    const producer = new Kafka.Producer(conf, topicConf);
    this.producer = producer;
    producer.on('delivery-report', (err, report) => this.onDelivery(err, report));
    producer.on('event.error', (err) => this.onClientError('producer', err));
    const timeout = this.o.connectTimeoutMs ?? 30_000;
    await new Promise<void>((resolve, reject) => {
      producer.connect({ timeout, topic: this.topicName('readings') }, (err) => {
        if (err)
          reject(
            new Error(
              `Kafka bus: cannot reach the brokers at ${this.o.brokers} within ${timeout} ms: ${describe(err)}`,
            ),
          );
        else resolve();
      });
    });
    // Delivery reports arrive only when the producer is polled, and ingest acknowledges MQTT only after them: every
    // 100 ms made each batch wait 50 ms on average for nothing (issue 19); a poll with nothing to serve is cheap.
    producer.setPollInterval(10);
    this.up = true;
    this.lastOk = Date.now();
    const every = this.o.healthCheckMs ?? 5000;
    this.healthTimer = setInterval(() => this.probe(every), Math.min(every, 1000));
    this.healthTimer.unref();
    this.log.info(
      { brokers: this.o.brokers, prefix: this.topicPrefix, clientId: this.clientId },
      'Kafka bus connected',
    );
  }

  /** Creates every bus topic that is missing; an existing topic is fine whatever its partition count. */
  private async ensureTopics(): Promise<void> {
    const admin: IAdminClient = Kafka.AdminClient.create({
      'metadata.broker.list': this.o.brokers,
      'client.id': `${this.clientId}-admin`,
      ...this.librdkafkaSettings('admin'),
    } as ProducerGlobalConfig);
    const partitions = this.o.partitions ?? 12;
    const deadline = Date.now() + (this.o.connectTimeoutMs ?? 30_000);
    try {
      for (const t of BUS_TOPICS) {
        const topic = this.topicName(t);
        for (let attempt = 1; ; attempt++) {
          const err = await new Promise<LibrdKafkaError | undefined>((resolve) =>
            admin.createTopic(
              { topic, num_partitions: partitions, replication_factor: this.o.replicationFactor ?? -1 },
              10_000,
              resolve,
            ),
          );
          if (!err) {
            this.log.info({ topic, partitions }, 'Kafka topic created');
            break;
          }
          if (err.code === E.ERR_TOPIC_ALREADY_EXISTS) break;
          const retriable =
            err.code === E.ERR__TIMED_OUT ||
            err.code === E.ERR__TRANSPORT ||
            err.code === E.ERR__ALL_BROKERS_DOWN ||
            err.isRetriable;
          if (!retriable || Date.now() > deadline) {
            throw new Error(`Kafka bus: cannot create topic ${topic} on ${this.o.brokers}: ${describe(err)}`);
          }
          this.log.warn({ topic, attempt, err: describe(err) }, 'Kafka topic creation failed; retrying');
          await sleep(Math.min(2000, 200 * attempt));
        }
      }
    } finally {
      admin.disconnect();
    }
  }

  async publish(topic: BusTopic, messages: readonly OutgoingMessage[]): Promise<void> {
    const name = this.topicName(topic);
    if (this.closed) throw new Error('Kafka bus is closed');
    if (this.fatal) throw this.fatal;
    const producer = this.producer;
    if (!producer) throw new Error('Kafka bus is not started');
    if (messages.length === 0) return;
    return new Promise<void>((resolve, reject) => {
      const p: Pending = {
        topic: name,
        total: messages.length,
        remaining: messages.length,
        failed: 0,
        firstError: null,
        settled: false,
        resolve,
        reject,
      };
      this.pending.add(p);
      // One publish call is enqueued after the other, so order per key holds across concurrent calls even when
      // one of them waits for room in a full queue.
      this.enqueuing = this.enqueuing.then(() => this.enqueue(producer, p, messages));
    });
  }

  private async enqueue(producer: Producer, p: Pending, messages: readonly OutgoingMessage[]): Promise<void> {
    const deadline = Date.now() + this.deliveryTimeoutMs;
    let fullSince = 0;
    let fullWaits = 0;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      for (;;) {
        try {
          const value = typeof m.value === 'string' ? Buffer.from(m.value) : m.value;
          // timestamp null: librdkafka stamps the current time. The Pending is the opaque of the delivery report.
          producer.produce(p.topic, null, value, m.key, null, p);
          fullWaits = 0;
          break;
        } catch (e) {
          const code = (e as LibrdKafkaError).code;
          if (code === E.ERR__QUEUE_FULL && Date.now() < deadline && !this.closed) {
            // librdkafka's local queue is full (broker slow or away): wait for deliveries to drain it.
            if (!fullSince) {
              fullSince = Date.now();
              this.log.warn({ topic: p.topic }, 'Kafka producer queue is full; publish waits for deliveries');
            }
            await sleep(Math.min(50, 5 * ++fullWaits));
            // Queued messages count until their delivery reports are served: serve them now, not at the next poll.
            if (producer.isConnected()) producer.poll();
            continue;
          }
          // This message and the ones after it were never queued: they fail now.
          this.fail(
            p,
            code === E.ERR__QUEUE_FULL ? new Error(`producer queue stayed full for ${this.deliveryTimeoutMs} ms`) : e,
            messages.length - i,
          );
          return;
        }
      }
    }
  }

  private onDelivery(err: LibrdKafkaError | null | undefined, report: DeliveryReport): void {
    const p = report.opaque as Pending | undefined;
    if (err) {
      if (p) this.fail(p, err, 1);
      if (err.code === E.ERR__MSG_TIMED_OUT) this.markDown(err);
      return;
    }
    this.lastOk = Date.now();
    this.markUp();
    if (!p) return;
    p.remaining--;
    this.settle(p);
  }

  private fail(p: Pending, e: unknown, count: number): void {
    p.failed += count;
    p.remaining -= count;
    p.firstError ??= e;
    this.settle(p);
  }

  private settle(p: Pending): void {
    if (p.remaining > 0 || p.settled) return;
    p.settled = true;
    this.pending.delete(p);
    if (p.failed === 0) p.resolve();
    else {
      p.reject(
        new Error(
          `Kafka did not acknowledge ${p.failed} of ${p.total} messages to ${p.topic}: ${describe(p.firstError)}`,
          {
            cause: p.firstError,
          },
        ),
      );
    }
  }

  /** Checks the producer's connection when no delivery proved it lately; marks the bus down or up. */
  private probe(every: number): void {
    const producer = this.producer;
    if (!producer || this.closed || this.probing) return;
    const since = Date.now() - this.lastOk;
    if (this.up ? since < every : since < 1000) return;
    this.probing = true;
    producer.getMetadata({ topic: this.topicName('readings'), timeout: 3000 }, (err) => {
      this.probing = false;
      if (err) this.markDown(err);
      else {
        this.lastOk = Date.now();
        this.markUp();
      }
    });
  }

  /**
   * Called by the producer and every consumer on librdkafka error events. node-rdkafka passes these on with only
   * librdkafka's error string (code -1, no isFatal flag), so they are told apart by that string.
   */
  onClientError(who: string, err: LibrdKafkaError): void {
    const text = String(err.message ?? err).toLowerCase();
    if (who === 'producer' && (err.isFatal || text.includes('fatal error'))) {
      // A fatal idempotent-producer error (e.g. out-of-order sequence): this producer can publish no more.
      this.fatal = new Error(`Kafka producer hit a fatal error and must be restarted: ${describe(err)}`);
      this.log.error(
        { err: describe(err) },
        'Kafka producer fatal error: the bus reports unhealthy until the process restarts',
      );
    }
    if (err.code === E.ERR__ALL_BROKERS_DOWN || text.includes('all broker connections are down')) {
      this.markDown(err);
      return;
    }
    // librdkafka repeats connection errors at every reconnect: log each kind at most every 30 s.
    const now = Date.now();
    if (now - (this.lastErrorLog.get(text) ?? 0) < 30_000) {
      this.log.debug({ client: who, err: describe(err) }, 'Kafka client error');
      return;
    }
    this.lastErrorLog.set(text, now);
    this.log.warn({ client: who, brokers: this.o.brokers, err: describe(err) }, 'Kafka client error');
  }

  private markDown(err: unknown): void {
    if (!this.up || this.closed) return;
    this.up = false;
    this.downSince = Date.now();
    this.log.error(
      { brokers: this.o.brokers, err: describe(err), deliveryTimeoutMs: this.deliveryTimeoutMs },
      'Kafka unreachable: publishes wait for it (up to the delivery timeout, then fail) and consumers pause',
    );
  }

  private markUp(): void {
    if (this.up || this.closed) return;
    this.up = true;
    this.lastErrorLog.clear();
    this.log.info({ brokers: this.o.brokers, downMs: Date.now() - this.downSince }, 'Kafka reachable again');
  }

  async subscribe(
    topic: BusTopic,
    group: string,
    handler: (batch: BusMessage[]) => Promise<void>,
    opts: SubscribeOptions = {},
  ): Promise<Subscription> {
    const name = this.topicName(topic);
    if (this.closed) throw new Error('Kafka bus is closed');
    if (!group) throw new Error('Kafka bus: group must not be empty');
    const sub = new KafkaSubscription(this, {
      topic,
      topicName: name,
      group,
      groupId: this.groupId(group),
      clientId: `${this.clientId}-${group}`,
      handler,
      maxBatch: Math.max(1, opts.maxBatch ?? this.o.maxBatch ?? 500),
      ephemeral: opts.ephemeral ?? false,
      log: this.log.child({ topic: name, group: this.groupId(group) }),
    });
    this.subs.add(sub);
    try {
      await sub.start();
    } catch (e) {
      this.subs.delete(sub);
      await sub.close().catch(() => {});
      throw e;
    }
    return { close: () => sub.close() };
  }

  /** @internal */
  forget(sub: KafkaSubscription): void {
    this.subs.delete(sub);
  }

  healthy(): boolean {
    return !this.closed && this.fatal === null && this.up && this.producer !== null;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.healthTimer) clearInterval(this.healthTimer);
    await Promise.all([...this.subs].map((s) => s.close()));
    const producer = this.producer;
    this.producer = null;
    if (producer?.isConnected()) {
      // Wait (bounded) for what is in flight, so publishes that are pending settle with their real outcome.
      await new Promise<void>((resolve) => producer.flush(Math.min(this.deliveryTimeoutMs, 10_000), () => resolve()));
      await new Promise<void>((resolve) => producer.disconnect(5000, () => resolve()));
      await new Promise((r) => setImmediate(r)); // delivery reports the flush served reach us first
    }
    for (const p of [...this.pending])
      this.fail(p, new Error('the bus was closed before the broker acknowledged them'), p.remaining);
  }

  /** @internal settings shared with the subscriptions. */
  get consumerSettings() {
    return {
      brokers: this.o.brokers,
      sessionTimeoutMs: this.o.sessionTimeoutMs ?? 10_000,
      connectTimeoutMs: this.o.connectTimeoutMs ?? 30_000,
      retryMinMs: this.o.retryMinMs ?? 100,
      retryMaxMs: this.o.retryMaxMs ?? 5000,
      idlePollMs: this.o.idlePollMs ?? 50,
      extra: this.librdkafkaSettings('consumer'),
    };
  }

  /** The settings given for one kind of client: the security settings with that client's own on top. */
  librdkafkaSettings(client: 'producer' | 'consumer' | 'admin'): LibrdkafkaSettings {
    const own =
      client === 'producer'
        ? this.o.producerConfig
        : client === 'consumer'
          ? this.o.consumerConfig
          : (this.o.adminConfig ?? this.o.producerConfig);
    return { ...this.o.security, ...own };
  }
}

interface SubscriptionSpec {
  topic: BusTopic;
  topicName: string;
  group: string;
  groupId: string;
  clientId: string;
  handler: (batch: BusMessage[]) => Promise<void>;
  maxBatch: number;
  /** Start at the newest message, commit nothing (SubscribeOptions.ephemeral). */
  ephemeral: boolean;
  log: Logger;
}

/**
 * One member of a consumer group: its own KafkaConsumer and consume loop. One batch is in the handler at a time, so
 * per-partition order holds; offsets are committed (asynchronously, confirmed by offset_commit_cb) after the handler
 * resolved, and again before partitions are given up in a rebalance and on close.
 */
class KafkaSubscription {
  private consumer: KafkaConsumer | null = null;
  private readonly cooperative: boolean;
  /** Partitions we own (incrementalAssign'ed and not yet incrementalUnassign'ed). */
  private readonly assigned = new Set<number>();
  /** Owned partitions that are being revoked: their messages are no longer handed out. */
  private readonly revoking = new Set<number>();
  /** Next offset per partition after the last message the handler finished. */
  private readonly processed = new Map<number, number>();
  /** Partitions whose batch failed: the offset they must start again at. */
  private readonly rewind = new Map<number, number>();
  /** Committed offsets confirmed by the broker. */
  private readonly committed = new Map<number, number>();
  /** Per partition, the first offset handed to the handler (for the lag while nothing has been processed yet). */
  private readonly firstSeen = new Map<number, number>();
  private inflight: Promise<void> | null = null;
  private stopping = false;
  private loopDone: Promise<void> = Promise.resolve();
  private wakeUp: (() => void) | null = null;
  private failures = 0;
  private erroring = false;
  private recommitTimer: NodeJS.Timeout | null = null;
  private closing: Promise<void> | null = null;
  private disconnecting = false;

  constructor(
    private readonly bus: KafkaBus,
    private readonly s: SubscriptionSpec,
  ) {
    const strategy = String(bus.consumerSettings.extra['partition.assignment.strategy'] ?? 'cooperative-sticky');
    this.cooperative = strategy.includes('cooperative');
  }

  get topic(): BusTopic {
    return this.s.topic;
  }

  get group(): string {
    return this.s.group;
  }

  /**
   * Messages on our partitions after the last one the handler finished: librdkafka's cached high watermark (updated
   * by every fetch, no request of its own) less our next offset. A partition with nothing processed yet counts from
   * its committed offset, else from the first message handed to the handler (a handler stuck on its first batch still
   * shows its lag); one with none of these is left out. Ephemeral groups (broadcasts) have no lag.
   */
  lag(): number {
    const consumer = this.consumer;
    if (!consumer || this.s.ephemeral) return 0;
    let lag = 0;
    for (const p of this.assigned) {
      let high: number;
      try {
        high = consumer.getWatermarkOffsets(this.s.topicName, p).highOffset;
      } catch {
        continue; // nothing fetched from it yet
      }
      const next = this.processed.get(p) ?? this.committed.get(p) ?? this.firstSeen.get(p);
      if (high >= 0 && next !== undefined && next >= 0) lag += Math.max(0, high - next);
    }
    return lag;
  }

  async start(): Promise<void> {
    const c = this.bus.consumerSettings;
    const conf = {
      'metadata.broker.list': c.brokers,
      'group.id': this.s.groupId,
      'client.id': this.s.clientId,
      'enable.auto.commit': false,
      'enable.auto.offset.store': false,
      // Cooperative: a member joining or leaving moves only the partitions that change hands; the others keep
      // being processed through the rebalance (the eager protocol stops every member).
      'partition.assignment.strategy': 'cooperative-sticky',
      'session.timeout.ms': c.sessionTimeoutMs,
      'heartbeat.interval.ms': Math.max(500, Math.min(3000, Math.floor(c.sessionTimeoutMs / 3))),
      'socket.keepalive.enable': true,
      'reconnect.backoff.max.ms': 2000,
      ...c.extra,
      rebalance_cb: (err: LibrdKafkaError, assignment: TopicPartition[]) => this.onRebalance(err, assignment),
      offset_commit_cb: (err: LibrdKafkaError | undefined, offsets: TopicPartitionOffset[]) =>
        this.onCommitted(err, offsets),
    } as ConsumerGlobalConfig;
    const topicConf: ConsumerTopicConfig = { 'auto.offset.reset': this.s.ephemeral ? 'latest' : 'earliest' };
    const consumer = new Kafka.KafkaConsumer(conf, topicConf);
    this.consumer = consumer;
    consumer.on('event.error', (err) => {
      this.erroring = true;
      this.bus.onClientError(`consumer ${this.s.groupId}`, err);
    });
    // Polls never block a libuv thread: an empty poll returns at once and the loop sleeps in JS (idlePollMs).
    consumer.setDefaultConsumeTimeout(0);
    await new Promise<void>((resolve, reject) => {
      consumer.connect({ timeout: c.connectTimeoutMs, topic: this.s.topicName }, (err) => {
        if (err)
          reject(
            new Error(`Kafka bus: consumer for group ${this.s.groupId} cannot reach ${c.brokers}: ${describe(err)}`),
          );
        else resolve();
      });
    });
    consumer.subscribe([this.s.topicName]);
    this.s.log.info('Kafka consumer joined the group');
    this.loopDone = this.loop();
  }

  private onRebalance(err: LibrdKafkaError, assignment: TopicPartition[]): void {
    const consumer = this.consumer;
    if (!consumer) return;
    const parts = assignment.filter((a) => a.topic === this.s.topicName).map((a) => a.partition);
    if (err.code === E.ERR__ASSIGN_PARTITIONS) {
      try {
        // Decided from our configuration, not consumer.rebalanceProtocol(): that can answer NONE (node-rdkafka #1144)
        // or block (librdkafka #4041) while the consumer closes.
        if (this.cooperative) consumer.incrementalAssign(assignment);
        else consumer.assign(assignment);
      } catch (e) {
        this.s.log.error({ err: describe(e) }, 'Kafka consumer could not take its assigned partitions');
        return;
      }
      if (!this.cooperative) this.assigned.clear();
      for (const p of parts) {
        this.assigned.add(p);
        this.revoking.delete(p);
        this.processed.delete(p);
        this.committed.delete(p);
        this.rewind.delete(p);
      }
      this.s.log.info(
        { partitions: parts, owned: [...this.assigned].sort((a, b) => a - b) },
        'Kafka partitions assigned',
      );
      this.wakeUp?.();
    } else if (err.code === E.ERR__REVOKE_PARTITIONS) {
      void this.revoke(consumer, assignment, parts);
    } else {
      this.s.log.error({ err: describe(err) }, 'Kafka rebalance error; giving up the assignment');
      void this.revoke(consumer, assignment, parts);
    }
  }

  /** Lets the batch in the handler finish and commits it before the partitions go to another member. */
  private async revoke(consumer: KafkaConsumer, assignment: TopicPartition[], parts: number[]): Promise<void> {
    for (const p of parts) this.revoking.add(p);
    this.wakeUp?.(); // a failed batch waiting out its retry delay need not hold the rebalance up
    if (this.inflight) await this.inflight;
    if (!this.disconnecting) this.commit(parts); // while disconnecting, commitAll() has done it
    try {
      if (this.cooperative) consumer.incrementalUnassign(assignment);
      else consumer.unassign();
    } catch (e) {
      // Not connected any more (closing): librdkafka drops the assignment itself.
      this.s.log.debug({ err: describe(e) }, 'Kafka unassign failed');
    }
    for (const p of this.cooperative ? parts : [...this.assigned]) {
      this.assigned.delete(p);
      this.revoking.delete(p);
      this.processed.delete(p);
      this.committed.delete(p);
      this.rewind.delete(p);
    }
    this.s.log.info({ partitions: parts, owned: [...this.assigned].sort((a, b) => a - b) }, 'Kafka partitions revoked');
  }

  /** Commits the processed offsets of `parts` (that we still own and have not committed). */
  private commit(parts: Iterable<number>): void {
    const consumer = this.consumer;
    if (!consumer || this.s.ephemeral) return;
    const offsets: TopicPartitionOffset[] = [];
    for (const p of parts) {
      const next = this.processed.get(p);
      if (next === undefined || !this.assigned.has(p) || next <= (this.committed.get(p) ?? -1)) continue;
      offsets.push({ topic: this.s.topicName, partition: p, offset: next });
    }
    if (offsets.length === 0) return;
    try {
      consumer.commit(offsets);
    } catch (e) {
      this.s.log.warn({ err: describe(e) }, 'Kafka offset commit could not be sent; retrying');
      this.scheduleRecommit();
    }
  }

  private onCommitted(err: LibrdKafkaError | undefined, offsets: TopicPartitionOffset[]): void {
    if (err) {
      if (err.code === E.ERR__NO_OFFSET) return;
      this.s.log.warn(
        { err: describe(err), offsets },
        'Kafka offset commit failed; retrying (the messages may be delivered again)',
      );
      this.scheduleRecommit();
      return;
    }
    for (const o of offsets) {
      if (o.topic !== this.s.topicName || typeof o.offset !== 'number' || o.offset < 0) continue;
      if (o.offset > (this.committed.get(o.partition) ?? -1)) this.committed.set(o.partition, o.offset);
    }
  }

  private scheduleRecommit(): void {
    if (this.recommitTimer || this.stopping) return;
    this.recommitTimer = setTimeout(() => {
      this.recommitTimer = null;
      if (!this.stopping) this.commit([...this.assigned]);
    }, 1000);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = null;
        done();
      };
    });
  }

  private poll(consumer: KafkaConsumer): Promise<Message[]> {
    return new Promise((resolve, reject) =>
      consumer.consume(this.s.maxBatch, (err, messages) => (err ? reject(err) : resolve(messages))),
    );
  }

  private async loop(): Promise<void> {
    const c = this.bus.consumerSettings;
    const consumer = this.consumer!;
    while (!this.stopping) {
      let messages: Message[];
      try {
        messages = await this.poll(consumer);
      } catch (e) {
        if (this.stopping) break;
        this.erroring = true;
        this.bus.onClientError(`consumer ${this.s.groupId}`, e as LibrdKafkaError);
        await this.sleep(500);
        continue;
      }
      const batch: Message[] = [];
      const reseek = new Set<number>();
      for (const m of messages) {
        // Messages fetched before a revoke began belong to the next owner now.
        if (!this.assigned.has(m.partition) || this.revoking.has(m.partition)) continue;
        // After a failed batch the partition must start again at its first message: never skip past it, whether or
        // not librdkafka's seek has purged what it had prefetched.
        const from = this.rewind.get(m.partition);
        if (from !== undefined) {
          if (m.offset < from) continue;
          if (m.offset > from) {
            reseek.add(m.partition);
            continue;
          }
          this.rewind.delete(m.partition);
        }
        batch.push(m);
      }
      for (const p of reseek) await this.seek(consumer, p, this.rewind.get(p)!);
      if (batch.length === 0) {
        if (messages.length === 0 || reseek.size > 0) await this.sleep(c.idlePollMs);
        continue;
      }
      if (this.erroring) {
        this.erroring = false;
        this.s.log.info('Kafka consumer receiving again');
      }
      this.inflight = this.handle(consumer, batch);
      await this.inflight;
      this.inflight = null;
    }
  }

  private async handle(consumer: KafkaConsumer, batch: Message[]): Promise<void> {
    const c = this.bus.consumerSettings;
    for (const m of batch)
      if (!this.processed.has(m.partition) && !this.firstSeen.has(m.partition))
        this.firstSeen.set(m.partition, m.offset);
    try {
      await this.s.handler(batch.map((m) => this.toBusMessage(m)));
    } catch (e) {
      // Not committed; rewind each partition to its first message of this batch so the same messages come again.
      this.failures++;
      const delay = Math.min(c.retryMaxMs, c.retryMinMs * 2 ** (this.failures - 1));
      this.s.log.warn(
        { messages: batch.length, attempt: this.failures, retryInMs: delay, err: (e as Error)?.message ?? String(e) },
        'bus handler failed; its messages will be delivered again',
      );
      const first = new Map<number, number>();
      for (const m of batch) if (!first.has(m.partition)) first.set(m.partition, m.offset);
      for (const [partition, offset] of first) {
        if (!this.assigned.has(partition) || this.revoking.has(partition)) continue; // the next owner starts at the commit
        this.rewind.set(partition, offset);
        await this.seek(consumer, partition, offset);
      }
      await this.sleep(delay);
      return;
    }
    this.failures = 0;
    for (const m of batch) this.processed.set(m.partition, m.offset + 1);
    this.commit(new Set(batch.map((m) => m.partition)));
  }

  private seek(consumer: KafkaConsumer, partition: number, offset: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const failed = (err: unknown) => {
        // The loop keeps dropping this partition's later messages and seeks again until the failed one comes.
        this.s.log.warn({ partition, offset, err: describe(err) }, 'Kafka seek back failed; retrying');
        resolve();
      };
      try {
        consumer.seek({ topic: this.s.topicName, partition, offset }, 5000, (err) => (err ? failed(err) : resolve()));
      } catch (err) {
        failed(err);
      }
    });
  }

  private toBusMessage(m: Message): BusMessage {
    const key = m.key == null ? '' : typeof m.key === 'string' ? m.key : m.key.toString('utf8');
    return {
      topic: this.s.topic,
      key,
      value: m.value ?? Buffer.alloc(0),
      partition: m.partition,
      offset: m.offset,
      timestamp: m.timestamp ?? Date.now(),
    };
  }

  close(): Promise<void> {
    return (this.closing ??= this.doClose());
  }

  private async doClose(): Promise<void> {
    this.stopping = true;
    this.wakeUp?.();
    if (this.recommitTimer) clearTimeout(this.recommitTimer);
    await this.loopDone;
    const consumer = this.consumer;
    if (consumer?.isConnected()) {
      // Commit what was processed; librdkafka's close waits for outstanding commits, then the final revoke
      // (rebalance_cb) and LeaveGroup hand the partitions to the other members at once.
      this.commitAll();
      this.disconnecting = true;
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.s.log.error('Kafka consumer did not close within 30 s; abandoning it');
          resolve();
        }, 30_000);
        consumer.disconnect(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    this.bus.forget(this);
    this.s.log.info('Kafka consumer left the group');
  }

  private commitAll(): void {
    // commit() skips partitions being revoked only if unowned; closing owns them all until the final revoke.
    this.commit([...this.assigned]);
  }
}
