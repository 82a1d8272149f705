// The edge agent: runs on a gateway beside the sensors. Each device gets its own MQTT connection (its own
// credentials and its own last will, so the platform sees each device go offline) and its own disk buffer.
// Readings are written to the buffer first and published from it with QoS 1; a reading leaves the buffer only
// when the broker has acknowledged it.
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { readingsTopic, statusTopic, type DeviceRef, type ReadingInput } from '../contracts/index.js';
import type { Logger } from '../runtime/log.js';
import { DiskQueue, type Entry } from './buffer.js';
import type { DeviceConfig, EdgeConfig } from './config.js';
import { startDriver, type Driver } from './drivers/index.js';

export interface DeviceStats {
  deviceId: string;
  connected: boolean;
  bufferedBytes: number;
  inflight: number;
  published: number;
  dropped: number;
}

class DeviceLink {
  private client: MqttClient;
  private readonly queue: DiskQueue;
  private driver: Driver | null = null;
  private inflight = 0;
  private published = 0;
  private backoff: number;
  private readonly ref: DeviceRef;
  private readonly topic: string;
  private closing = false;
  private finished = false;
  private drainWaiters: (() => void)[] = [];
  private lastError = '';
  private settled = false;

  constructor(
    private readonly cfg: EdgeConfig,
    private readonly device: DeviceConfig,
    private readonly log: Logger,
  ) {
    this.ref = { district: device.district, kind: device.kind, deviceId: device.id };
    this.topic = readingsTopic(this.ref);
    this.queue = DiskQueue.open(path.join(cfg.buffer.dir, device.id), {
      maxBytes: cfg.buffer.maxBytes,
      segmentBytes: cfg.buffer.segmentBytes,
      cursorSaveMs: 200,
      fsyncMs: cfg.buffer.fsyncMs,
      onDrop: (records, bytes) =>
        log.warn(
          { device: device.id, records, bytes, droppedTotal: this.queue.dropped },
          'buffer full: dropped the oldest readings',
        ),
    });
    const backlog = this.queue.pendingBytes();
    if (backlog > 0) log.info({ device: device.id, bytes: backlog }, 'resuming with buffered readings');
    this.backoff = cfg.mqtt.reconnectMinMs;
    const status = statusTopic(this.ref);
    this.client = mqtt.connect(cfg.mqtt.url, {
      clientId: `${cfg.gatewayId}.${device.id}`,
      username: device.username,
      password: device.password,
      keepalive: cfg.mqtt.keepaliveS,
      reconnectPeriod: this.backoff,
      connectTimeout: 10_000,
      will: { topic: status, payload: Buffer.from(JSON.stringify({ online: false, reason: 'connection lost' })), qos: 1, retain: true },
    });
    this.client.on('connect', () => {
      this.lastError = '';
      this.backoff = cfg.mqtt.reconnectMinMs;
      this.client.options.reconnectPeriod = this.backoff;
      log.debug({ device: device.id, broker: cfg.mqtt.url }, 'device connected');
      this.client.publish(status, JSON.stringify({ online: true, ts: Date.now(), gateway: cfg.gatewayId }), {
        qos: 1,
        retain: true,
      });
      // Readings wait a moment after a (re)connect, so that subscribers have subscribed again (mqtt.settleMs).
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
    this.client.on('offline', () => log.warn({ device: device.id }, 'broker unreachable; buffering readings on disk'));
    // Every reconnect attempt fails the same way while the broker is down: say it once, then only at debug.
    this.client.on('error', (e) => {
      const repeat = e.message === this.lastError;
      this.lastError = e.message;
      log[repeat ? 'debug' : 'error']({ device: device.id, err: e.message }, 'mqtt error');
    });
  }

  startDriver(onDone: () => void): void {
    this.driver = startDriver(this.device, {
      device: this.device,
      logger: this.log,
      emit: (r) => this.enqueue(r),
      lastReading: () => {
        const last = this.queue.lastRecord();
        if (!last) return null;
        const r = JSON.parse(last) as { ts: number; seq?: number };
        return { ts: r.ts, seq: r.seq };
      },
      done: () => {
        this.finished = true;
        onDone();
      },
    });
  }

  enqueue(r: ReadingInput): void {
    const ts = typeof r.ts === 'number' ? r.ts : Date.parse(r.ts);
    this.queue.append(JSON.stringify({ ts, seq: r.seq, metrics: r.metrics }));
    this.pump();
  }

  private pump(): void {
    const { inflight: window, maxBatch } = this.cfg.publish;
    while (this.settled && this.client.connected && this.inflight < window && this.queue.hasUnread()) {
      const entries = this.queue.read(maxBatch);
      if (entries.length === 0) break;
      this.publish(entries);
    }
    if (this.inflight === 0 && !this.queue.hasUnread()) {
      for (const w of this.drainWaiters.splice(0)) w();
    }
  }

  private publish(entries: Entry[]): void {
    const payload = entries.length === 1 ? entries[0]!.data : `{"batch":[${entries.map((e) => e.data).join(',')}]}`;
    this.inflight++;
    // mqtt.js keeps an unacknowledged QoS 1 message and sends it again after a reconnect; the callback fires on PUBACK.
    this.client.publish(this.topic, payload, { qos: 1 }, (err) => {
      this.inflight--;
      if (err) {
        if (this.closing) return;
        this.log.debug({ device: this.device.id, err: err.message }, 'publish not acknowledged; resending from the buffer');
        this.queue.rewind();
      } else {
        for (const e of entries) this.queue.ack(e);
        this.published += entries.length;
      }
      this.pump();
    });
  }

  /** Resolves when everything buffered so far has been acknowledged by the broker. */
  drained(): Promise<void> {
    if (this.inflight === 0 && !this.queue.hasUnread()) return Promise.resolve();
    return new Promise((r) => this.drainWaiters.push(r));
  }

  get isFinished(): boolean {
    return this.finished;
  }

  stats(): DeviceStats {
    return {
      deviceId: this.device.id,
      connected: this.client.connected,
      bufferedBytes: this.queue.pendingBytes(),
      inflight: this.inflight,
      published: this.published,
      dropped: this.queue.dropped,
    };
  }

  async stop(drainMs: number): Promise<void> {
    this.driver?.stop();
    if (this.client.connected && drainMs > 0) {
      await Promise.race([this.drained(), new Promise((r) => setTimeout(r, drainMs))]);
    }
    this.closing = true;
    if (this.client.connected) {
      await this.client.publishAsync(statusTopic(this.ref), JSON.stringify({ online: false, reason: 'agent stopped' }), {
        qos: 1,
        retain: true,
      }).catch(() => undefined);
    }
    await this.client.endAsync(true);
    this.queue.close();
  }
}

export class EdgeAgent {
  private readonly links: DeviceLink[];
  private statsTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly cfg: EdgeConfig,
    private readonly log: Logger,
  ) {
    this.links = cfg.devices.map((d) => new DeviceLink(cfg, d, log));
  }

  /** Starts every device's driver. `onAllDone` fires when every finite driver has produced all its readings. */
  start(onAllDone?: () => void): void {
    let left = this.links.length;
    for (const l of this.links) l.startDriver(() => --left === 0 && onAllDone?.());
    this.log.info({ gateway: this.cfg.gatewayId, devices: this.links.length, broker: this.cfg.mqtt.url }, 'edge agent started');
    this.statsTimer = setInterval(() => {
      const s = this.stats();
      const backlog = s.reduce((n, d) => n + d.bufferedBytes, 0);
      if (backlog > 64 * 1024) {
        this.log.info(
          { bufferedBytes: backlog, offline: s.filter((d) => !d.connected).length, dropped: s.reduce((n, d) => n + d.dropped, 0) },
          'readings waiting in the buffer',
        );
      }
    }, 30_000).unref();
  }

  stats(): DeviceStats[] {
    return this.links.map((l) => l.stats());
  }

  /** Resolves when every device's buffer is empty and acknowledged. */
  async drained(): Promise<void> {
    await Promise.all(this.links.map((l) => l.drained()));
  }

  /** Stops drivers, gives in-flight readings `drainMs` to be acknowledged, and closes; the rest stays on disk. */
  async stop(drainMs = 2000): Promise<void> {
    if (this.statsTimer) clearInterval(this.statsTimer);
    await Promise.all(this.links.map((l) => l.stop(drainMs)));
    this.log.info({ gateway: this.cfg.gatewayId }, 'edge agent stopped');
  }
}
