// The frame relay: camera frames from MQTT onto the bus topic "frames", keyed by camera id. MQTT shared
// subscriptions spread messages over subscribers without regard to their topic, but a tracker needs every frame of
// its camera; the bus's keyed partitions give that (one camera, one partition, one worker of the group). A frame is
// acknowledged to the broker (PUBACK) only after the bus has it.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Bus } from '../bus/types.js';
import { encodeBusFrame, FRAME_PROPS, FRAMES_FILTER, parseFramesTopic } from '../contracts/index.js';
import { ConfigError } from '../runtime/config.js';
import { redactUrl } from '../runtime/http.js';
import type { Logger } from '../runtime/log.js';
import { mqttTlsOptions, tlsFailureHint } from '../runtime/tls.js';
import type { DeadLetterStore } from '../store/types.js';

export interface FrameRelayOptions {
  mqttUrl: string;
  username?: string;
  password?: string;
  /** The CA trusted for an mqtts:// broker (PEM file; MQTT_CA_FILE); else Node's public CAs. */
  caFile?: string;
  clientId: string;
  /** MQTT 5 shared-subscription group; unset on a broker without MQTT 5 (the embedded aedes). */
  shareGroup?: string;
  bus: Bus;
  deadLetters: DeadLetterStore;
  logger: Logger;
  /**
   * Larger messages are not frames a camera should send: dead-lettered (the first 64 KiB kept). Below Kafka's
   * default message.max.bytes (1 MB), so a frame the relay accepts always fits on the bus.
   */
  maxFrameBytes?: number;
}

export class FrameRelay {
  private client: MqttClient | null = null;
  relayed = 0;
  rejected = 0;
  private warnedNoProps = false;

  constructor(private readonly o: FrameRelayOptions) {}

  async start(): Promise<void> {
    const o = this.o;
    const v5 = o.shareGroup !== undefined;
    const opts: IClientOptions = {
      clientId: o.clientId,
      username: o.username,
      password: o.password,
      protocolVersion: v5 ? 5 : 4,
      clean: false,
      reconnectPeriod: 250,
      resubscribe: false,
      connectTimeout: 10_000,
      ...mqttTlsOptions(o.caFile, 'MQTT_CA_FILE'),
      ...(v5 ? { properties: { sessionExpiryInterval: 3600, receiveMaximum: 64 } } : {}),
    };
    const client = mqtt.connect(o.mqttUrl, opts);
    this.client = client;
    // mqtt.js sends the PUBACK when this callback is called, and reads the next packet after it: one frame at a time,
    // acknowledged once the bus holds it.
    client.handleMessage = (packet, done) => {
      this.relay(packet as mqtt.IPublishPacket).then(
        () => done(),
        (e: Error) => {
          // The bus refused: no PUBACK, so the broker sends the frame again after a reconnect.
          o.logger.error(
            { err: e.message },
            'could not hand a frame to the bus; reconnecting so the broker resends it',
          );
          client.end(true, () => client.reconnect());
        },
      );
    };
    const filter = v5 ? `$share/${o.shareGroup}/${FRAMES_FILTER}` : FRAMES_FILTER;
    // Subscribed on every connection: Mosquitto does not restore shared subscriptions after its restart.
    client.on('connect', () => {
      client.subscribeAsync(filter, { qos: 1 }).then(
        () => o.logger.info({ topic: filter }, 'frame relay subscribed'),
        (e: Error) =>
          o.logger.error({ err: e.message }, 'frame relay could not subscribe; retried on the next connection'),
      );
    });
    client.on('error', (e) => o.logger.error({ err: e.message }, 'mqtt error (frame relay)'));
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
  }

  private async relay(p: mqtt.IPublishPacket): Promise<void> {
    const payload = typeof p.payload === 'string' ? Buffer.from(p.payload) : p.payload;
    const t = parseFramesTopic(p.topic);
    const max = this.o.maxFrameBytes ?? 900 * 1024;
    const reject = (reason: string) => {
      this.rejected++;
      return this.o.deadLetters.add([
        { topic: p.topic, reason, receivedAt: Date.now(), payload: payload.subarray(0, 64 * 1024) },
      ]);
    };
    if (!t.ok) return reject(t.reason);
    if (payload.length > max)
      return reject(`frame of ${payload.length} bytes exceeds ${max} (lower the camera's width or JPEG quality)`);
    const props = (p.properties?.userProperties ?? {}) as Record<string, string | string[]>;
    const one = (k: string) => {
      const v = props[k];
      return Array.isArray(v) ? v[0] : v;
    };
    let ts = Number(one(FRAME_PROPS.capturedAt));
    let seq = Number(one(FRAME_PROPS.seq));
    if (!Number.isInteger(ts) || !Number.isInteger(seq)) {
      // MQTT 3.1.1 carries no user properties: the receive time stands in for the capture time.
      if (!this.warnedNoProps) {
        this.warnedNoProps = true;
        this.o.logger.warn(
          { topic: p.topic },
          'frame without capture time and sequence (user properties ts, seq): using the receive time',
        );
      }
      ts = Date.now();
      seq = 0;
    }
    await this.o.bus.publish('frames', [
      { key: t.camera.cameraId, value: encodeBusFrame({ ...t.camera, ts, seq, jpeg: payload }) },
    ]);
    this.relayed++;
  }

  async stop(): Promise<void> {
    await this.client?.endAsync();
  }
}
