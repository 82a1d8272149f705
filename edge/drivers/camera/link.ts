// A camera link: frames from a source (snapshot URL, files, the simulator), encoded as JPEG with sharp, published
// with QoS 1 on city/v1/{district}/camera/{cameraId}/frames. The capture time and a sequence number travel as
// MQTT 5 user properties, so the vision stage knows when each frame was taken whatever the network did. The
// connection is the camera's own (its credentials, its last will on the status topic). On the same connection the
// link reads the camera's commands topic (QoS 1): "play" says a notice on the camera's loudspeaker (commands.ts).
import fs from 'node:fs';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { cameraCommandsTopic, FRAME_PROPS, framesTopic } from '../../../contracts/index.js';
import { untrustedImage } from '../../../runtime/image.js';
import type { Logger } from '../../../runtime/log.js';
import { mqttTlsOptions, tlsFailureHint } from '../../../runtime/tls.js';
import type { EdgeConfig } from '../../config.js';
import { CommandPlayer, type CommandStats, type EdgeDeadLetterSink } from './commands.js';
import type { CameraSource, EdgeCamera } from './config.js';
import { RtspSource } from './rtsp.js';
import { snapshotSource } from './snapshot.js';
import type { CapturedFrame, FrameSource } from './source.js';

export type { CapturedFrame, FrameSource } from './source.js';
export { snapshotSource } from './snapshot.js';

export type SimulatorSourceFactory = (
  src: Extract<CameraSource, { type: 'simulator' }>,
  cam: EdgeCamera,
  log: Logger,
) => Promise<FrameSource>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function filesSource(src: Extract<CameraSource, { type: 'files' }>): FrameSource {
  const files = fs
    .readdirSync(src.dir)
    .filter((f) => /\.(jpe?g|png|webp)$/i.test(f))
    .sort()
    .map((f) => path.join(src.dir, f));
  let i = 0;
  let stopped = false;
  let due = Date.now();
  return {
    async next() {
      if (files.length === 0 || stopped) return null;
      if (i >= files.length) {
        if (!src.loop) return null;
        i = 0;
      }
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      due = Math.max(due + src.intervalMs, Date.now());
      return { ts: Date.now(), image: fs.readFileSync(files[i++]!) };
    },
    stop() {
      stopped = true;
    },
  };
}

export interface CameraLinkOptions {
  /** Where refused commands go (the edge agent's gateway link); without it they are only logged. */
  deadLetters?: EdgeDeadLetterSink;
}

export class CameraLink {
  private readonly client: MqttClient;
  private readonly topic: string;
  private readonly statusTopic: string;
  /** What the source last said about the camera (rtsp: frames arriving or not); online until it says otherwise. */
  private sourceStatus: { online: boolean; reason?: string } = { online: true };
  private readonly commandsTopic: string;
  private readonly commands: CommandPlayer;
  private subscribeRefusedLogged = false;
  private markSubscribed!: () => void;
  private readonly subscribed = new Promise<void>((r) => (this.markSubscribed = r));
  private readonly queue: { ts: number; seq: number; jpeg: Buffer }[] = [];
  private inflight = 0;
  private seq = 0;
  private source: FrameSource | null = null;
  private stopped = false;
  published = 0;
  dropped = 0;
  private lastError = '';
  private drainWaiters: (() => void)[] = [];
  private ended = false;

  constructor(
    private readonly cfg: EdgeConfig,
    private readonly cam: EdgeCamera,
    private readonly log: Logger,
    private readonly simulator?: SimulatorSourceFactory,
    opts: CameraLinkOptions = {},
  ) {
    this.topic = framesTopic({ district: cam.district, cameraId: cam.id });
    this.commandsTopic = cameraCommandsTopic({ district: cam.district, cameraId: cam.id });
    this.commands = new CommandPlayer({
      cameraId: cam.id,
      topic: this.commandsTopic,
      speaker: cam.speaker,
      log,
      deadLetters: opts.deadLetters,
    });
    const status = `city/v1/${cam.district}/camera/${cam.id}/status`;
    this.statusTopic = status;
    // With a speaker, the broker keeps the session (the commands subscription and the QoS 1 commands that arrive
    // meanwhile) for speaker.maxAgeS after the link drops: a notice sent while the camera's uplink is down, or the
    // agent restarts, is still said when it comes back, and one older than that would be refused anyway.
    const keep = cam.speaker
      ? { clean: false, properties: { sessionExpiryInterval: cam.speaker.maxAgeS } }
      : { clean: true };
    this.client = mqtt.connect(cfg.mqtt.url, {
      clientId: `${cfg.gatewayId}.${cam.id}`,
      username: cam.username,
      password: cam.password,
      ...keep,
      // We subscribe on every connect ourselves (below); mqtt.js would do it a second time.
      resubscribe: false,
      protocolVersion: 5,
      keepalive: cfg.mqtt.keepaliveS,
      reconnectPeriod: cfg.mqtt.reconnectMinMs,
      connectTimeout: 10_000,
      ...mqttTlsOptions(cfg.mqtt.caFile, 'mqtt.caFile'),
      will: {
        topic: status,
        payload: Buffer.from(JSON.stringify({ online: false, reason: 'connection lost' })),
        qos: 1,
        retain: true,
      },
    });
    this.client.on('connect', () => {
      this.lastError = '';
      // The link is up, but the camera behind it may not be (an rtsp stream that stalled): say what the source says.
      this.publishStatus();
      // Subscribed again on every connect: a clean session (no speaker) or one the broker let expire has none.
      this.client.subscribe(this.commandsTopic, { qos: 1 }, (err, granted) => {
        const refused = err ? err.message : granted?.some((g) => g.qos >= 128) ? 'refused by the broker' : null;
        if (!refused) this.markSubscribed();
        else if (!this.subscribeRefusedLogged) {
          this.subscribeRefusedLogged = true;
          log.error(
            { camera: cam.id, topic: this.commandsTopic, err: refused },
            "cannot read the camera's commands topic (check the broker ACL): loudspeaker commands will not arrive",
          );
        }
      });
      this.pump();
    });
    this.client.on('message', (topic, payload) => {
      if (topic === this.commandsTopic) this.commands.receive(payload);
    });
    this.client.on('error', (e) => {
      if (e.message !== this.lastError)
        log.error({ camera: cam.id, err: e.message + tlsFailureHint(e, 'mqtt.caFile') }, 'mqtt error');
      this.lastError = e.message;
    });
  }

  /** Starts reading frames; `onEnd` fires when a finite source has been sent completely. */
  async start(onEnd?: () => void): Promise<void> {
    const src = this.cam.source;
    this.source =
      src.type === 'snapshot'
        ? snapshotSource(src, this.log, this.cam.id)
        : src.type === 'rtsp'
          ? new RtspSource(src, this.log, this.cam.id, (online, reason) => {
              this.sourceStatus = { online, reason };
              this.publishStatus();
            })
          : src.type === 'files'
            ? filesSource(src)
            : await this.simulatorSource(src);
    void this.loop(onEnd);
  }

  /** The camera's retained status: online with the link, unless its source found the camera gone. */
  private publishStatus(): void {
    if (!this.client.connected) return; // sent on the next connect
    const { online, reason } = this.sourceStatus;
    const msg = online
      ? { online, ts: Date.now(), gateway: this.cfg.gatewayId }
      : { online, ts: Date.now(), gateway: this.cfg.gatewayId, reason };
    this.client.publish(this.statusTopic, JSON.stringify(msg), { qos: 1, retain: true });
  }

  private async simulatorSource(src: Extract<CameraSource, { type: 'simulator' }>): Promise<FrameSource> {
    if (!this.simulator) throw new Error('the simulator camera source is not available in this process');
    return this.simulator(src, this.cam, this.log);
  }

  private async loop(onEnd?: () => void): Promise<void> {
    while (!this.stopped) {
      let f: CapturedFrame | null;
      try {
        f = await this.source!.next();
      } catch (e) {
        this.log.error({ camera: this.cam.id, err: (e as Error).message }, 'camera source failed');
        await sleep(1000);
        continue;
      }
      if (!f) break;
      let jpeg: Buffer;
      try {
        // A snapshot is the camera's (or whoever answers at its URL): its pixels are capped before decoding.
        let img = untrustedImage(f.image);
        if (this.cam.width) img = img.resize({ width: this.cam.width });
        jpeg = await img.jpeg({ quality: this.cam.quality, mozjpeg: false }).toBuffer();
      } catch (e) {
        this.log.warn({ camera: this.cam.id, err: (e as Error).message }, 'frame could not be encoded; skipped');
        continue;
      }
      if (jpeg.length > this.cam.maxFrameBytes) {
        this.log.warn(
          { camera: this.cam.id, bytes: jpeg.length, max: this.cam.maxFrameBytes },
          'frame too large after encoding: not sent (lower width or quality)',
        );
        continue;
      }
      this.queue.push({ ts: f.ts, seq: this.seq++, jpeg });
      if (this.queue.length > this.cam.maxQueuedFrames) {
        const n = this.queue.length - this.cam.maxQueuedFrames;
        this.queue.splice(0, n);
        this.dropped += n;
        if (this.dropped === n || this.dropped % 100 < n)
          this.log.warn({ camera: this.cam.id, dropped: this.dropped }, 'broker away: oldest frames dropped');
      }
      this.pump();
      // Back-pressure: a slow uplink slows the source instead of growing the queue.
      while (!this.stopped && this.inflight >= 4) await sleep(20);
    }
    this.ended = true;
    await this.drained();
    onEnd?.();
  }

  private pump(): void {
    while (this.client.connected && this.inflight < 4 && this.queue.length > 0) {
      const f = this.queue.shift()!;
      this.inflight++;
      this.client.publish(
        this.topic,
        f.jpeg,
        {
          qos: 1,
          properties: {
            contentType: 'image/jpeg',
            userProperties: { [FRAME_PROPS.capturedAt]: String(f.ts), [FRAME_PROPS.seq]: String(f.seq) },
          },
        },
        (err) => {
          this.inflight--;
          if (err) {
            // Not acknowledged: put it back at the head, it goes again when the connection is back.
            if (!this.stopped) this.queue.unshift(f);
          } else {
            this.published++;
          }
          this.pump();
          if (this.inflight === 0 && this.queue.length === 0) for (const w of this.drainWaiters.splice(0)) w();
        },
      );
    }
  }

  drained(): Promise<void> {
    if (this.inflight === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.drainWaiters.push(r));
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Loudspeaker commands played, failed, refused... */
  get commandStats(): Readonly<CommandStats> {
    return this.commands.stats;
  }

  /** Resolves when no command is waiting or playing. */
  commandsIdle(): Promise<void> {
    return this.commands.idle();
  }

  /** Resolves once the broker has granted the subscription to the camera's commands topic. */
  commandsSubscribed(): Promise<void> {
    return this.subscribed;
  }

  async stop(drainMs = 2000): Promise<void> {
    this.stopped = true;
    this.commands.stop();
    this.source?.stop();
    if (this.client.connected && drainMs > 0) await Promise.race([this.drained(), sleep(drainMs)]);
    await this.client.endAsync(true);
  }
}
