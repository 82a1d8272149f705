// The edge agent: runs on a gateway beside the sensors. Each device gets its own MQTT connection (its own
// credentials and its own last will, so the platform sees each device go offline) and its own disk buffer.
// Readings are written to the buffer first and published from it with QoS 1; a reading leaves the buffer only
// when the broker has acknowledged it.
import path from 'node:path';
import { readingsTopic, statusTopic, type DeviceRef, type ReadingInput } from '../contracts/index.js';
import type { Logger } from '../runtime/log.js';
import type { Entry } from './buffer.js';
import { BrokerLink, type LinkStats } from './link.js';
import { CameraLink, type SimulatorSourceFactory } from './drivers/camera/link.js';
import { Hj212Server } from './drivers/hj212/server.js';
import { GatewayLink } from './gateway.js';
import type { DeviceConfig, EdgeConfig } from './config.js';
import { startDriver, type Driver } from './drivers/index.js';

export interface DeviceStats extends LinkStats {
  deviceId: string;
}

class DeviceLink extends BrokerLink {
  private driver: Driver | null = null;
  private readonly ref: DeviceRef;
  private readonly topic: string;
  private readonly statusTopic: string;
  private finished = false;
  /** What the driver last said about the device (a polled gauge that stops answering); sent on every connect. */
  private answering: { online: boolean; reason?: string } = { online: true };

  constructor(
    cfg: EdgeConfig,
    private readonly device: DeviceConfig,
    log: Logger,
  ) {
    const ref: DeviceRef = { district: device.district, kind: device.kind, deviceId: device.id };
    const status = statusTopic(ref);
    super(
      cfg,
      device.id,
      path.join(cfg.buffer.dir, device.id),
      {
        clientId: `${cfg.gatewayId}.${device.id}`,
        username: device.username,
        password: device.password,
        will: {
          topic: status,
          payload: Buffer.from(JSON.stringify({ online: false, reason: 'connection lost' })),
          qos: 1,
          retain: true,
        },
      },
      log,
    );
    this.ref = ref;
    this.topic = readingsTopic(ref);
    this.statusTopic = status;
  }

  protected override onConnect(): void {
    this.client.publish(
      this.statusTopic,
      JSON.stringify({ ...this.answering, ts: Date.now(), gateway: this.cfg.gatewayId }),
      { qos: 1, retain: true },
    );
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
      status: (online, reason) => {
        this.answering = online ? { online } : { online, reason };
        if (this.client.connected) this.onConnect();
      },
      done: () => {
        this.finished = true;
        onDone();
      },
    });
  }

  enqueue(r: ReadingInput): void {
    const ts = typeof r.ts === 'number' ? r.ts : Date.parse(r.ts);
    this.append(
      JSON.stringify(
        r.flags ? { ts, seq: r.seq, metrics: r.metrics, flags: r.flags } : { ts, seq: r.seq, metrics: r.metrics },
      ),
    );
  }

  protected publishEntries(entries: Entry[]): void {
    const payload = entries.length === 1 ? entries[0]!.data : `{"batch":[${entries.map((e) => e.data).join(',')}]}`;
    this.send(this.topic, payload, entries);
  }

  get isFinished(): boolean {
    return this.finished;
  }

  stats(): DeviceStats {
    return { deviceId: this.device.id, ...this.linkStats() };
  }

  protected override async beforeClose(): Promise<void> {
    await this.client.publishAsync(this.statusTopic, JSON.stringify({ online: false, reason: 'agent stopped' }), {
      qos: 1,
      retain: true,
    });
  }

  async stop(drainMs: number): Promise<void> {
    this.driver?.stop();
    await this.close(drainMs);
  }
}

export interface EdgeAgentOptions {
  /** Frames of the camera simulator (simulators/camera), when this process has it. */
  simulatedCamera?: SimulatorSourceFactory;
}

export class EdgeAgent {
  private readonly links: DeviceLink[];
  private readonly cameras: CameraLink[];
  private gateway: GatewayLink | null = null;
  private hj212: Hj212Server | null = null;
  private hj212Listening: number | null = null;
  private statsTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly cfg: EdgeConfig,
    private readonly log: Logger,
    private readonly opts: EdgeAgentOptions = {},
  ) {
    this.links = cfg.devices.map((d) => new DeviceLink(cfg, d, log));
    // The gateway link carries the agent's own messages (dead letters, HJ 212 readings). Cameras hand it the
    // loudspeaker commands they refuse, so those reach the platform's dead-letter store; an agent with cameras but
    // neither HJ 212 nor a gateway account keeps no such link (the broker would refuse it) and only logs them.
    if (cfg.hj212 || (cfg.cameras.length > 0 && cfg.gatewayCredentials.username)) {
      this.gateway = new GatewayLink(cfg, cfg.hj212 ? 'hj212' : 'camera', cfg.gatewayCredentials, log);
    }
    const deadLetters = this.gateway ?? undefined;
    this.cameras = cfg.cameras.map((c) => new CameraLink(cfg, c, log, opts.simulatedCamera, { deadLetters }));
  }

  /** The HJ 212 server's port once listening (tests bind port 0). */
  get hj212Port(): number | null {
    return this.hj212Listening;
  }

  /** Starts every device's driver, the cameras and the protocol servers. `onAllDone` fires when every finite driver and camera has sent everything. */
  async start(onAllDone?: () => void): Promise<void> {
    let left = this.links.length + this.cameras.length;
    const one = () => --left === 0 && onAllDone?.();
    for (const l of this.links) l.startDriver(one);
    for (const c of this.cameras) await c.start(one);
    if (this.cfg.hj212 && this.gateway) {
      this.hj212 = new Hj212Server(this.cfg.hj212, this.gateway, this.log.child({ part: 'hj212' }));
      this.hj212Listening = (await this.hj212.listen()).port;
    }
    this.log.info(
      {
        gateway: this.cfg.gatewayId,
        devices: this.links.length,
        cameras: this.cameras.length,
        hj212: this.hj212Listening ?? undefined,
        broker: this.cfg.mqtt.url,
      },
      'edge agent started',
    );
    this.statsTimer = setInterval(() => {
      const s = this.stats();
      const backlog = s.reduce((n, d) => n + d.bufferedBytes, 0);
      if (backlog > 64 * 1024) {
        this.log.info(
          {
            bufferedBytes: backlog,
            offline: s.filter((d) => !d.connected).length,
            dropped: s.reduce((n, d) => n + d.dropped, 0),
          },
          'readings waiting in the buffer',
        );
      }
    }, 30_000).unref();
  }

  stats(): DeviceStats[] {
    const s = this.links.map((l) => l.stats());
    if (this.gateway)
      s.push({ deviceId: `_gateway-${this.cfg.hj212 ? 'hj212' : 'camera'}`, ...this.gateway.linkStats() });
    return s;
  }

  hj212Stats() {
    return this.hj212?.stats() ?? null;
  }

  /** Resolves when every device's buffer is empty and acknowledged. */
  async drained(): Promise<void> {
    await Promise.all([
      ...this.links.map((l) => l.drained()),
      ...this.cameras.map((c) => c.drained()),
      this.gateway?.drained(),
    ]);
  }

  /** Stops drivers, gives in-flight readings `drainMs` to be acknowledged, and closes; the rest stays on disk. */
  async stop(drainMs = 2000): Promise<void> {
    if (this.statsTimer) clearInterval(this.statsTimer);
    // The server first: its last offline statuses go into the gateway's buffer before that closes.
    await this.hj212?.close();
    await Promise.all([
      ...this.links.map((l) => l.stop(drainMs)),
      ...this.cameras.map((c) => c.stop(drainMs)),
      this.gateway?.close(drainMs),
    ]);
    this.log.info({ gateway: this.cfg.gatewayId }, 'edge agent stopped');
  }
}
