// One MQTT connection with a disk buffer behind it: what a device link (one device, its own credentials) and a
// gateway link (many devices behind one protocol server) share. Everything is appended to the buffer first and
// published from it with QoS 1; a record leaves the buffer only when the broker has acknowledged its message.
// The link speaks MQTT 5: its PUBACK says when the broker refused a message (Mosquitto's ACL: 0x87 not authorized),
// where an MQTT 3.1.1 PUBACK acknowledges a refused message like a delivered one and the records would leave the
// buffer and be lost. Refused records stay in the buffer and are tried again every `mqtt.reconnectMaxMs`, with an
// error in the log, until the account is put right. A broker that speaks only 3.1.1 (the platform's embedded one)
// refuses MQTT 5 at the connection, and then gets 3.1.1.
import mqtt, { type IClientOptions, type IClientPublishOptions, type MqttClient } from 'mqtt';
import type { Logger } from '../runtime/log.js';
import { mqttTlsOptions, tlsFailureHint } from '../runtime/tls.js';
import { DiskQueue, type Entry } from './buffer.js';
import type { EdgeConfig } from './config.js';

export interface LinkStats {
  connected: boolean;
  bufferedBytes: number;
  inflight: number;
  published: number;
  dropped: number;
}

export abstract class BrokerLink {
  protected readonly client: MqttClient;
  protected readonly queue: DiskQueue;
  protected inflight = 0;
  protected published = 0;
  protected closing = false;
  private backoff: number;
  private drainWaiters: (() => void)[] = [];
  private lastError = '';
  private settled = false;
  /** After the broker refused a message: nothing is sent before this time (ms since the epoch). */
  private refusedUntil = 0;
  private refusedLoggedAt = 0;

  constructor(
    protected readonly cfg: EdgeConfig,
    /** For logs: the device or gateway source this link serves. */
    protected readonly name: string,
    queueDir: string,
    mqttOptions: Pick<IClientOptions, 'clientId' | 'username' | 'password' | 'will'>,
    protected readonly log: Logger,
  ) {
    this.queue = DiskQueue.open(queueDir, {
      maxBytes: cfg.buffer.maxBytes,
      segmentBytes: cfg.buffer.segmentBytes,
      cursorSaveMs: 200,
      fsyncMs: cfg.buffer.fsyncMs,
      onDrop: (records, bytes) =>
        log.warn(
          { link: name, records, bytes, droppedTotal: this.queue.dropped },
          'buffer full: dropped the oldest records',
        ),
    });
    const backlog = this.queue.pendingBytes();
    if (backlog > 0) log.info({ link: name, bytes: backlog }, 'resuming with buffered records');
    this.backoff = cfg.mqtt.reconnectMinMs;
    this.client = mqtt.connect(cfg.mqtt.url, {
      ...mqttOptions,
      keepalive: cfg.mqtt.keepaliveS,
      reconnectPeriod: this.backoff,
      connectTimeout: 10_000,
      protocolVersion: 5,
      ...mqttTlsOptions(cfg.mqtt.caFile, 'mqtt.caFile'),
    });
    this.client.on('connect', () => {
      this.lastError = '';
      this.backoff = cfg.mqtt.reconnectMinMs;
      this.client.options.reconnectPeriod = this.backoff;
      log.debug({ link: name, broker: cfg.mqtt.url }, 'connected');
      this.onConnect();
      // Records wait a moment after a (re)connect, so that subscribers have subscribed again (mqtt.settleMs).
      this.settled = false;
      setTimeout(() => {
        this.settled = true;
        this.pump();
      }, cfg.mqtt.settleMs).unref();
    });
    this.client.on('close', () => {
      if (this.closing) return;
      // mqtt.js would send unacknowledged messages again the moment it reconnects, before the settle pause, and
      // a broker that has just restarted drops what no subscription matches yet. Take them back instead: their
      // callbacks fail, the buffer rewinds to its committed cursor, and the pump sends them after settling.
      for (const id of Object.keys(this.client.outgoing)) this.client.removeOutgoingMessage(Number(id));
      // Exponential backoff with jitter; mqtt.js reads reconnectPeriod each time it schedules a reconnect.
      this.backoff = Math.min(cfg.mqtt.reconnectMaxMs, this.backoff * 2);
      this.client.options.reconnectPeriod = Math.round(this.backoff * (0.5 + Math.random() / 2));
    });
    this.client.on('offline', () => log.warn({ link: name }, 'broker unreachable; buffering on disk'));
    // Every reconnect attempt fails the same way while the broker is down: say it once, then only at debug.
    this.client.on('error', (e) => {
      // CONNACK 1 "unacceptable protocol version": a broker that speaks only MQTT 3.1.1. mqtt.js does not retry a
      // refused CONNACK by itself; the next connection asks for 3.1.1.
      if ((e as { code?: number }).code === 1 && this.client.options.protocolVersion === 5 && !this.closing) {
        this.client.options.protocolVersion = 4;
        log.info(
          { link: name },
          'the broker speaks MQTT 3.1.1 only: connecting with 3.1.1 (a message it refuses cannot be told from one it took)',
        );
        setTimeout(() => this.client.reconnect(), 100).unref();
        return;
      }
      const repeat = e.message === this.lastError;
      this.lastError = e.message;
      log[repeat ? 'debug' : 'error']({ link: name, err: e.message + tlsFailureHint(e, 'mqtt.caFile') }, 'mqtt error');
    });
  }

  /** Called on every (re)connect, before buffered records are sent. */
  protected onConnect(): void {}

  /** Turns records read from the buffer into messages: call send() once per message. */
  protected abstract publishEntries(entries: Entry[]): void;

  protected append(record: string): void {
    this.queue.append(record);
    this.pump();
  }

  protected pump(): void {
    const { inflight: window, maxBatch } = this.cfg.publish;
    if (Date.now() < this.refusedUntil) return;
    while (this.settled && this.client.connected && this.inflight < window && this.queue.hasUnread()) {
      const entries = this.queue.read(maxBatch);
      if (entries.length === 0) break;
      this.publishEntries(entries);
    }
    if (this.inflight === 0 && !this.queue.hasUnread()) {
      for (const w of this.drainWaiters.splice(0)) w();
    }
  }

  /** Publishes one message carrying `entries`; they are acknowledged in the buffer when the broker acknowledges it. */
  protected send(
    topic: string,
    payload: string | Buffer,
    entries: Entry[],
    opts: IClientPublishOptions = { qos: 1 },
  ): void {
    this.inflight++;
    // mqtt.js keeps an unacknowledged QoS 1 message and sends it again after a reconnect; the callback fires on PUBACK.
    this.client.publish(topic, payload, { qos: 1, ...opts }, (err) => {
      this.inflight--;
      if (err) {
        if (this.closing) return;
        const code = (err as { code?: number }).code;
        if (code !== undefined && code >= 0x80) this.refused(topic, code);
        else
          this.log.debug({ link: this.name, err: err.message }, 'publish not acknowledged; resending from the buffer');
        this.queue.rewind();
      } else {
        for (const e of entries) this.queue.ack(e);
        this.published += entries.length;
      }
      this.pump();
    });
  }

  /**
   * The broker refused a message (MQTT 5 PUBACK reason ≥ 0x80; 0x87: this account may not publish on the topic). Its
   * records stay in the buffer; sending pauses for reconnectMaxMs, then the oldest unsent records are tried again.
   */
  private refused(topic: string, code: number): void {
    const pauseMs = this.cfg.mqtt.reconnectMaxMs;
    const first = this.refusedUntil <= Date.now();
    this.refusedUntil = Date.now() + pauseMs;
    if (first) setTimeout(() => this.pump(), pauseMs + 10).unref();
    if (Date.now() - this.refusedLoggedAt >= 60_000) {
      this.refusedLoggedAt = Date.now();
      const why =
        code === 0x87
          ? `account ${this.client.options.username ?? '(anonymous)'} may not publish on ${topic} (check the broker's ACL)`
          : `reason code 0x${code.toString(16)}`;
      this.log.error(
        { link: this.name, topic, reasonCode: code, bufferedBytes: this.queue.pendingBytes(), retryInMs: pauseMs },
        `the broker refused the message: ${why}; the records stay in the buffer and are sent again`,
      );
    }
  }

  /** Resolves when everything buffered so far has been acknowledged by the broker. */
  drained(): Promise<void> {
    if (this.inflight === 0 && !this.queue.hasUnread()) return Promise.resolve();
    return new Promise((r) => this.drainWaiters.push(r));
  }

  linkStats(): LinkStats {
    return {
      connected: this.client.connected,
      bufferedBytes: this.queue.pendingBytes(),
      inflight: this.inflight,
      published: this.published,
      dropped: this.queue.dropped,
    };
  }

  /** Called before the connection closes on stop(), while it is still up (a last status message, say). */
  protected async beforeClose(): Promise<void> {}

  async close(drainMs: number): Promise<void> {
    if (this.client.connected && drainMs > 0) {
      await Promise.race([this.drained(), new Promise((r) => setTimeout(r, drainMs))]);
    }
    this.closing = true;
    if (this.client.connected) {
      await this.beforeClose().catch(() => undefined);
      // A graceful end sends DISCONNECT, so the broker discards the last will ("connection lost") instead of
      // publishing it over the "agent stopped" status just sent. Bounded: a broker that stops answering now
      // must not hold up the shutdown.
      for (const id of Object.keys(this.client.outgoing)) this.client.removeOutgoingMessage(Number(id));
      await Promise.race([this.client.endAsync(false), new Promise((r) => setTimeout(r, 2000))]);
    }
    await this.client.endAsync(true);
    this.queue.close();
  }
}
