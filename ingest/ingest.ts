// Ingest: MQTT readings in, validated batches into the store out. A message is acknowledged to the broker (PUBACK)
// only after the store has accepted the batch that holds it, so a store outage or a crash loses nothing: the broker
// redelivers what was not acknowledged, and the store's idempotent writes absorb the repeats.
import { redactUrl } from '../runtime/url.js';
import mqtt, { type IClientOptions, type MqttClient, type Packet } from 'mqtt';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import {
  BusReadingsBatch,
  GatewayDeadLetterSchema,
  StatusSchema,
  TOPIC_ROOT,
  type DeadLetter,
  type StatusChange,
  type StoredReading,
} from '../contracts/index.js';
import type { Bus } from '../bus/types.js';
import { ConfigError } from '../runtime/config.js';
import type { Logger } from '../runtime/log.js';
import { mqttTlsOptions, tlsFailureHint } from '../runtime/tls.js';
import type { ReadingBatch, Store } from '../store/types.js';
import { validateMessage } from './validate.js';

/**
 * Readings a write holds at most, by store, when the deployment does not say (INGEST_BATCH_MAX). Each write request
 * costs InfluxDB a WAL entry and its sync besides the points, so fewer, larger ones leave it more of the machine:
 * bench:peer's project-only run (1M readings, 100 a message, idle, 2 cores) gave 268,733–294,019 readings/s at
 * 5,000, 312,000–319,000 at 10,000 (requests of up to 10,000 lines, WriteTuning.linesPerRequest) and 335,000–361,000
 * at 20,000, where ingest's peak RSS passed 120 MB; 10,000 keeps it near 110. The embedded DuckDB store commits every
 * write (its WAL, an fsync), so larger writes cost it less a reading too: bench:ingest at 100 readings a message,
 * 253–262k readings/s at 5,000 against 309–346k at 20,000, peak RSS 222–243 against 246–255 MB.
 */
export const INGEST_BATCH_DEFAULT = { influxdb: 10_000, duckdb: 20_000 } as const;

export interface IngestOptions {
  mqttUrl: string;
  username?: string;
  password?: string;
  /** The CA trusted for an mqtts:// broker (PEM file; MQTT_CA_FILE); else Node's public CAs. */
  caFile?: string;
  clientId: string;
  /**
   * MQTT 5 shared-subscription group: instances with the same group split the messages between them.
   * Unset for a broker without MQTT 5 (the embedded aedes), where one ingest subscribes alone.
   */
  shareGroup?: string;
  store: Store;
  /** Validated readings are also published here (topic `readings`, keyed by device) for detectors and alerts. */
  bus?: Bus;
  logger: Logger;
  registry: Registry;
  /** A batch is written when it holds this many readings... */
  batchMaxReadings: number;
  /** ...or when its oldest message has waited this long. */
  batchMaxDelayMs: number;
  maxPayloadBytes: number;
  /** Messages the broker may have in flight to us unacknowledged (MQTT 5 Receive Maximum). */
  receiveMaximum: number;
  /**
   * Readings received but not yet stored, past which ingest stops reading from the broker until the store catches
   * up: the bound on memory when messages are large. Default 4 batches.
   */
  maxPendingReadings?: number;
  /**
   * The same bound for dead letters, in bytes (payloads kept, topics, reasons); a batch is written once its dead
   * letters hold a quarter of it. Default 8 MiB.
   */
  maxPendingDeadLetterBytes?: number;
  /** Subscription filter; default every topic of the contract. */
  filter?: string;
  /** How long the broker keeps our session (and queues for us) while we are away. Default 7 days. */
  sessionExpirySec?: number;
  /** Called after each stored batch, e.g. to hand readings to detectors or to measure latency. */
  onStored?: (readings: readonly StoredReading[]) => void;
}

interface Held {
  /** Connection generation the PUBACK belongs to; acks for an older connection are void. */
  gen: number;
  puback: Packet | null;
  /** The message is stored; its PUBACK, if mqtt.js produces it only now (backpressure), goes out at once. */
  stored: boolean;
}

interface Batch {
  /** Readings taken in, all of them counted here whether kept as objects or encoded at once. */
  count: number;
  /** The readings as objects: for a store without batch(), and for onStored. */
  readings: StoredReading[];
  /** The store's own batch, which encodes the readings as they arrive (ReadingStore.batch), if it has one. */
  stored: ReadingBatch | null;
  /** The bus messages, encoded as the readings arrive. */
  bus: BusReadingsBatch | null;
  statuses: StatusChange[];
  deadLetters: DeadLetter[];
  /** Memory the dead letters hold (payloads kept, topics, reasons): counted in backpressure like readings. */
  deadLetterBytes: number;
  acks: Held[];
  messages: number;
}

const emptyBatch = (o: IngestOptions): Batch => ({
  count: 0,
  readings: [],
  stored: o.store.batch?.() ?? null,
  bus: o.bus ? new BusReadingsBatch() : null,
  statuses: [],
  deadLetters: [],
  deadLetterBytes: 0,
  acks: [],
  messages: 0,
});

/**
 * Bytes kept of a message over maxPayloadBytes, with its size as received: enough to see what and whose it was,
 * while a 100 MB message costs the dead-letter store 4 KiB.
 */
export const OVERSIZE_KEEP_BYTES = 4096;

// Topics of the contract that other stages consume; ingest ignores them rather than dead-lettering them.
const OTHER_STAGES = new Set(['frames', 'commands', 'events']);
const GATEWAY_PREFIX = `${TOPIC_ROOT}/_gateway/`;

export class Ingest {
  private client: MqttClient | null = null;
  private batch: Batch;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private gen = 0;
  private storeHealthy = true;
  private stopping = false;
  private readonly deviceStatus = new Map<string, boolean>();
  private readonly m;

  constructor(private readonly o: IngestOptions) {
    this.batch = emptyBatch(o);
    this.keepReadings = !o.store.batch || o.onStored !== undefined;
    const registers = [o.registry];
    this.m = {
      messages: new Counter({
        name: 'ingest_messages_total',
        help: 'MQTT messages taken in, by outcome',
        labelNames: ['outcome'] as const,
        registers,
      }),
      readings: new Counter({ name: 'ingest_readings_total', help: 'Readings stored', registers }),
      storeErrors: new Counter({ name: 'ingest_store_errors_total', help: 'Failed store writes (retried)', registers }),
      batchSeconds: new Histogram({
        name: 'ingest_batch_write_seconds',
        help: 'Time to write one batch to the store',
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
        registers,
      }),
    };
    // Gauges read the state at scrape time instead of being updated on every message.
    const self = this;
    new Gauge({
      name: 'ingest_unacked_messages',
      help: 'Messages received, not yet acknowledged',
      registers,
      collect() {
        this.set(self.unackedMessages);
      },
    });
    new Gauge({
      name: 'ingest_devices_online',
      help: 'Devices whose last status was online',
      registers,
      collect() {
        let n = 0;
        for (const online of self.deviceStatus.values()) if (online) n++;
        this.set(n);
      },
    });
    this.accepted = this.m.messages.labels('accepted');
    this.rejected = this.m.messages.labels('dead_letter');
  }

  private readonly accepted: Counter.Internal;
  private readonly rejected: Counter.Internal;

  /** Connects and subscribes; resolves once the subscription is in place. */
  async start(): Promise<void> {
    const o = this.o;
    const v5 = o.shareGroup !== undefined;
    const opts: IClientOptions = {
      clientId: o.clientId,
      username: o.username,
      password: o.password,
      protocolVersion: v5 ? 5 : 4,
      // A persistent session: while ingest is down the broker keeps queueing QoS 1 messages for it.
      clean: false,
      // Back quickly after a broker restart: see the subscription note below.
      reconnectPeriod: 250,
      // We subscribe on every connection ourselves (below); mqtt.js would skip it when the session is present.
      resubscribe: false,
      connectTimeout: 10_000,
      ...mqttTlsOptions(o.caFile, 'MQTT_CA_FILE'),
      ...(v5
        ? {
            properties: {
              sessionExpiryInterval: o.sessionExpirySec ?? 7 * 24 * 3600,
              receiveMaximum: o.receiveMaximum,
            },
          }
        : {}),
    };
    const client = mqtt.connect(o.mqttUrl, opts);
    this.client = client;
    this.deferAcks(client);
    client.handleMessage = (packet, done) => {
      const held = this.onPublish(packet as mqtt.IPublishPacket);
      // mqtt.js reads the next packet only after done(): holding it is our backpressure when the store lags.
      const release = () => {
        this.pendingPuback = held;
        done();
      };
      if (this.overPending) this.paused.push(release);
      else release();
    };
    const filter = o.filter ?? `${TOPIC_ROOT}/#`;
    const topic = o.shareGroup ? `$share/${o.shareGroup}/${filter}` : filter;
    // Subscribe on every connection, also when the broker reports the session as present: Mosquitto 2.0.11 restores
    // a persistent session after its own restart but not the session's shared subscriptions (measured), and
    // would deliver nothing to ingest ever again. Subscribing again to the same filter is harmless.
    const subscribe = () =>
      client.subscribeAsync(topic, { qos: 1 }).then(
        () => o.logger.info({ topic }, 'ingest subscribed'),
        (e: Error) => o.logger.error({ topic, err: e.message }, 'subscribing failed; retried on the next connection'),
      );
    let subscribed: Promise<void> = Promise.resolve();
    client.on('connect', () => {
      this.gen++;
      o.logger.info({ broker: redactUrl(o.mqttUrl), group: o.shareGroup }, 'ingest connected to the broker');
      subscribed = subscribe();
    });
    client.on('reconnect', () => o.logger.debug('ingest reconnecting to the broker'));
    client.on('offline', () => o.logger.warn({ broker: redactUrl(o.mqttUrl) }, 'ingest lost the broker; reconnecting'));
    client.on('error', (e) => o.logger.error({ err: e.message }, 'mqtt error'));

    await new Promise<void>((resolve, reject) => {
      const fail = (e: Error) =>
        reject(
          new ConfigError(
            `cannot connect to the MQTT broker at ${redactUrl(o.mqttUrl)} (MQTT_URL): ${e.message}${tlsFailureHint(e, 'MQTT_CA_FILE')}`,
          ),
        );
      client.once('error', fail);
      client.once('connect', () => {
        client.off('error', fail);
        resolve();
      });
    });
    await subscribed;
  }

  /**
   * mqtt.js sends the PUBACK of a QoS 1 message when handleMessage calls back, and reads no further packet until
   * then, which would allow only one message per store write. So handleMessage calls back at once and the PUBACK
   * itself is held here until the batch holding the message is stored. Acks leave in arrival order, as MQTT requires.
   */
  private deferAcks(client: MqttClient): void {
    const c = client as unknown as { _sendPacket: (p: Packet, cb?: () => void, ...rest: unknown[]) => void };
    const send = c._sendPacket.bind(client);
    c._sendPacket = (packet, cb, ...rest) => {
      const held = this.pendingPuback;
      if (packet.cmd === 'puback' && held) {
        this.pendingPuback = null;
        if (!held.stored) {
          held.puback = packet;
          cb?.();
          return;
        }
        if (held.gen !== this.gen) {
          cb?.();
          return;
        }
      }
      send(packet, cb, ...rest);
    };
    this.sendPacket = send;
  }

  private sendPacket: ((p: Packet, cb?: () => void) => void) | null = null;
  private pendingReadings = 0;
  private unackedMessages = 0;
  private writingSince = 0;
  private paused: (() => void)[] = [];
  private pendingPuback: Held | null = null;

  private pendingDeadLetterBytes = 0;

  private get maxPending(): number {
    return this.o.maxPendingReadings ?? 4 * this.o.batchMaxReadings;
  }

  private get maxPendingDeadLetterBytes(): number {
    return this.o.maxPendingDeadLetterBytes ?? 8 * 1024 * 1024;
  }

  /** True while received but unstored readings or dead letters exceed their bounds: stop reading from the broker. */
  private get overPending(): boolean {
    return this.pendingReadings > this.maxPending || this.pendingDeadLetterBytes > this.maxPendingDeadLetterBytes;
  }

  /** A batch is written when full of readings, or of dead letters. */
  private full(b: Batch): boolean {
    return b.count >= this.o.batchMaxReadings || b.deadLetterBytes >= this.maxPendingDeadLetterBytes / 4;
  }

  /** Takes one message into the current batch; returns where its PUBACK is to be parked (null for QoS 0). */
  private onPublish(packet: mqtt.IPublishPacket): Held | null {
    const b = this.batch;
    let held: Held | null = null;
    if (packet.qos > 0) {
      // mqtt.js produces the PUBACK synchronously inside done(); deferAcks parks it in `held`.
      held = { gen: this.gen, puback: null, stored: false };
      b.acks.push(held);
    }
    const before = b.count;
    b.messages++;
    const topic = packet.topic;
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const kindOfTopic = topic.slice(topic.lastIndexOf('/') + 1);
    if (!OTHER_STAGES.has(kindOfTopic) && payload.length > this.o.maxPayloadBytes) {
      // Refused before parsing, whatever the topic: a gateway's dead letter or a status is no exception.
      this.deadLetter(
        b,
        topic,
        `payload of ${payload.length} bytes exceeds the limit of ${this.o.maxPayloadBytes}`,
        payload,
      );
    } else if (kindOfTopic === 'readings') {
      const v = validateMessage(topic, payload, { maxPayloadBytes: this.o.maxPayloadBytes });
      if (v.ok) {
        b.count += v.readings.length;
        b.stored?.add(v.readings);
        b.bus?.add(v.readings);
        if (this.keepReadings) for (const r of v.readings) b.readings.push(r);
        this.accepted.inc();
      } else {
        this.deadLetter(b, topic, v.reason, payload);
      }
    } else if (kindOfTopic === 'status') {
      this.onStatus(b, topic, payload);
    } else if (kindOfTopic === 'dead-letters' && topic.startsWith(GATEWAY_PREFIX)) {
      this.onGatewayDeadLetter(b, topic, payload);
    } else if (!OTHER_STAGES.has(kindOfTopic)) {
      this.deadLetter(b, topic, 'topic is not part of the contract (expected .../readings or .../status)', payload);
    }
    this.unackedMessages++;
    this.pendingReadings += b.count - before;
    if (this.full(b)) this.flush();
    else if (!this.timer) this.timer = setTimeout(() => this.flush(), this.o.batchMaxDelayMs);
    return held;
  }

  private onStatus(b: Batch, topic: string, payload: Buffer): void {
    if (payload.length === 0) return; // a cleared retained message
    let status;
    try {
      status = StatusSchema.parse(JSON.parse(payload.toString('utf8')));
    } catch (e) {
      this.deadLetter(b, topic, `invalid status: ${(e as Error).message.split('\n')[0]}`, payload);
      return;
    }
    const [district, kind, deviceId] = topic.split('/').slice(2, 5) as [string, string, string];
    const device = `${district}/${kind}/${deviceId}`;
    if (this.deviceStatus.get(device) !== status.online) {
      b.statuses.push({
        district,
        kind,
        deviceId,
        online: status.online,
        reason: status.reason,
        receivedAt: Date.now(),
      });
      // Offline is news for the people on duty; a device coming online is routine.
      if (status.online) this.o.logger.debug({ device }, 'device online');
      else this.o.logger.warn({ device, reason: status.reason }, 'device offline');
    }
    this.deviceStatus.set(device, status.online);
  }

  /** A dead letter found at the edge (gatewayDeadLettersTopic): stored like ours, with the edge's source and reason. */
  private onGatewayDeadLetter(b: Batch, topic: string, payload: Buffer): void {
    let d;
    try {
      d = GatewayDeadLetterSchema.parse(JSON.parse(payload.toString('utf8')));
    } catch (e) {
      this.deadLetter(b, topic, `invalid gateway dead letter: ${(e as Error).message.split('\n')[0]}`, payload);
      return;
    }
    const gateway = topic.split('/')[3];
    this.keep(b, {
      topic: `${d.source} (gateway ${gateway})`,
      reason: d.reason,
      receivedAt: d.receivedAt,
      payload: Buffer.from(d.payload, 'base64'),
    });
    this.rejected.inc();
  }

  /** Puts a dead letter in the batch, counting the memory it holds until it is stored. */
  private keep(b: Batch, d: DeadLetter): void {
    const bytes = d.payload.length + d.topic.length + d.reason.length;
    b.deadLetters.push(d);
    b.deadLetterBytes += bytes;
    this.pendingDeadLetterBytes += bytes;
  }

  private deadLetter(b: Batch, topic: string, reason: string, payload: Buffer): void {
    const now = Date.now();
    if (payload.length > this.o.maxPayloadBytes) {
      // A copy of the first bytes, so that the message's own buffer is not held until the batch is stored.
      const kept = Buffer.from(payload.subarray(0, OVERSIZE_KEEP_BYTES));
      this.keep(b, {
        topic,
        reason: `${reason} (first ${kept.length} bytes kept)`,
        receivedAt: now,
        payload: kept,
        payloadBytes: payload.length,
      });
    } else this.keep(b, { topic, reason, receivedAt: now, payload });
    this.rejected.inc();
    // A misconfigured device can send thousands of bad messages: log the first few of each 10 s, then a count.
    if (now - this.dlWindow.start > 10_000) {
      if (this.dlWindow.suppressed > 0) {
        this.o.logger.warn({ count: this.dlWindow.suppressed }, 'more messages dead-lettered (see /api/dead-letters)');
      }
      this.dlWindow = { start: now, logged: 0, suppressed: 0 };
    }
    if (this.dlWindow.logged < 10) {
      this.dlWindow.logged++;
      this.o.logger.warn({ topic, reason }, 'message dead-lettered');
    } else this.dlWindow.suppressed++;
  }

  private dlWindow = { start: 0, logged: 0, suppressed: 0 };

  /**
   * Writes the current batch; batches are written and acknowledged strictly in order, one at a time. While a write
   * is in flight the next batch keeps filling (up to maxPendingReadings), so a slow sink gets fewer, larger writes
   * instead of a queue of small ones: throughput adapts to the sink's latency.
   */
  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    // Stopped and disconnected: stores and bus may be closed by now; the broker keeps these messages for the session,
    // unacknowledged.
    if (this.stopping && !this.client) return;
    if (this.writing) {
      this.flushWhenDone = true;
      return;
    }
    const b = this.batch;
    if (b.messages === 0) return;
    this.batch = emptyBatch(this.o);
    this.writing = true;
    this.flushing = this.writeWithRetry(b).finally(() => {
      this.writing = false;
      const next = this.batch;
      if (next.messages === 0) return;
      if (this.flushWhenDone || this.full(next)) {
        this.flushWhenDone = false;
        this.flush();
      } else if (!this.timer) this.timer = setTimeout(() => this.flush(), this.o.batchMaxDelayMs);
    });
  }

  private writing = false;
  private flushWhenDone = false;
  /** Readings are kept as objects only where they are still needed after the batch is encoded. */
  private readonly keepReadings: boolean;

  private async writeWithRetry(b: Batch): Promise<void> {
    this.writingSince = Date.now();
    for (let attempt = 1; ; attempt++) {
      const end = this.m.batchSeconds.startTimer();
      try {
        if (b.count) {
          // Store and bus both must have the batch before the broker hears an acknowledgement. A retry repeats
          // both: the store is idempotent, and bus consumers take delivery at least once.
          await Promise.all([
            b.stored ? b.stored.write() : this.o.store.write(b.readings),
            b.bus ? this.o.bus?.publish('readings', b.bus.messages()) : undefined,
          ]);
        }
        if (b.statuses.length) {
          await this.o.bus?.publish(
            'status',
            b.statuses.map((x) => ({ key: x.deviceId, value: JSON.stringify(x) })),
          );
        }
        if (b.deadLetters.length) await this.o.store.add(b.deadLetters);
        end();
        this.writingSince = 0;
        if (!this.storeHealthy)
          this.o.logger.info({ store: this.o.store.name, bus: this.o.bus?.name }, 'writes succeed again');
        this.storeHealthy = true;
        break;
      } catch (e) {
        this.m.storeErrors.inc();
        this.storeHealthy = false;
        // While we retry, the held PUBACKs keep the broker from sending more than receiveMaximum messages.
        const delay = Math.min(5000, 100 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random() / 2);
        this.o.logger.error(
          { err: (e as Error).message, attempt, retryInMs: Math.round(delay), readings: b.count },
          'writing the batch failed; its messages stay unacknowledged and the write will be retried',
        );
        if (this.stopping && attempt >= 3) {
          this.o.logger.warn('stopping: leaving the batch unacknowledged for the broker to redeliver');
          return;
        }
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    for (const h of b.acks) {
      h.stored = true;
      // An ack from before a reconnect is void: the broker redelivers those messages and we store them again.
      if (h.puback && h.gen === this.gen && this.client?.connected) this.sendPacket?.(h.puback);
    }
    this.unackedMessages -= b.messages;
    this.m.readings.inc(b.count);
    this.pendingReadings -= b.count;
    this.pendingDeadLetterBytes -= b.deadLetterBytes;
    this.o.onStored?.(b.readings);
    while (this.paused.length > 0 && !this.overPending) this.paused.shift()!();
  }

  /** False while the broker is away, the last write failed, or a write has been waiting over 5 s (a stalled sink). */
  get healthy(): boolean {
    const stalled = this.writingSince > 0 && Date.now() - this.writingSince > 5000;
    return this.storeHealthy && !stalled && (this.client?.connected ?? false);
  }

  /** Messages received and not yet acknowledged to the broker: they wait for the store and the bus. */
  get unacknowledged(): number {
    return this.unackedMessages;
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /** Flushes what was received, acknowledges it, and disconnects. */
  async stop(): Promise<void> {
    this.stopping = true;
    // Write out everything received, including what arrives while the last batch is written.
    for (;;) {
      this.flush();
      await this.flushing;
      if (!this.writing && (this.batch.messages === 0 || !this.client?.connected)) break;
    }
    await this.client?.endAsync();
    this.client = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.batch.messages)
      this.o.logger.info(
        { messages: this.batch.messages },
        'stopped: messages that arrived while closing are left for the broker to redeliver',
      );
  }
}
