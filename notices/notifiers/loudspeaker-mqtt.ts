// The loudspeaker adapter: asks the camera's edge agent to play the notice at the spot, with a QoS 1 command on
// city/v1/{district}/camera/{cameraId}/commands: {type: "play", id, text, repeat, issuedAt}. An attempt counts as
// sent when the broker acknowledged it (PUBACK). A loudspeaker notice is only worth playing while the party is at the
// spot: the camera link subscribes with a clean session and skips commands older than its maxAgeS, so a command sent
// while the edge agent is offline is not played later (the SMS is the lasting notice). The command id is the same on
// every attempt of one notice, so an edge agent that got it twice plays it once. It speaks MQTT 5, whose PUBACK says
// when the broker refused the command (Mosquitto's ACL: 0x87 not authorized); an MQTT 3.1.1 PUBACK does not, and a
// refused command would count as sent. A broker that speaks only 3.1.1 (the embedded one) refuses MQTT 5 at the
// connection, and then gets 3.1.1.
import os from 'node:os';
import mqtt, { type MqttClient } from 'mqtt';
import { cameraCommandsTopic, PlayCommandSchema } from '../../contracts/index.js';
import type { Logger } from '../../runtime/log.js';
import { mqttTlsOptions } from '../../runtime/tls.js';
import type { Notice } from '../types.js';
import type { Notifier, SendResult } from './types.js';

export interface LoudspeakerMqttOptions {
  url: string;
  username?: string;
  password?: string;
  /** The CA trusted for an mqtts:// broker (PEM file; MQTT_CA_FILE); else Node's public CAs. */
  caFile?: string;
  clientId?: string;
  /** Times the edge agent plays the text (1..5). */
  repeat: number;
  /** Longest wait for the connection and the PUBACK. */
  timeoutMs: number;
  logger: Logger;
  now?: () => number;
}

export class LoudspeakerMqttNotifier implements Notifier {
  readonly channel = 'loudspeaker' as const;
  readonly target: string;
  private client: MqttClient;
  private lastError = '';
  private closed = false;

  constructor(private readonly o: LoudspeakerMqttOptions) {
    const u = new URL(o.url);
    this.target = `${u.protocol}//${u.host}`;
    this.client = this.connect(5);
  }

  private connect(protocolVersion: 4 | 5): MqttClient {
    const o = this.o;
    const client = mqtt.connect(o.url, {
      clientId: o.clientId ?? `notices-${os.hostname()}-${process.pid}`,
      username: o.username,
      password: o.password,
      protocolVersion,
      keepalive: 30,
      reconnectPeriod: 2000,
      connectTimeout: Math.max(1000, o.timeoutMs),
      ...mqttTlsOptions(o.caFile, 'MQTT_CA_FILE'),
    });
    client.on('connect', () => {
      this.lastError = '';
      o.logger.info(
        { broker: this.target, mqtt: protocolVersion === 5 ? '5' : '3.1.1' },
        'loudspeaker commands: connected to the broker',
      );
    });
    client.on('error', (e) => {
      // CONNACK 1 "unacceptable protocol version": a 3.1.1-only broker. mqtt.js does not reconnect after a refused
      // CONNACK, so a new client speaks 3.1.1.
      if (protocolVersion === 5 && (e as { code?: number }).code === 1 && !this.closed) {
        client.end(true);
        this.client = this.connect(4);
        return;
      }
      // A broker that is down fails every reconnect the same way: say it once.
      const repeat = e.message === this.lastError;
      this.lastError = e.message;
      o.logger[repeat ? 'debug' : 'warn']({ broker: this.target, err: e.message }, 'loudspeaker commands: mqtt error');
    });
    return client;
  }

  get connected(): boolean {
    return this.client.connected;
  }

  async send(notice: Notice, text: string, signal?: AbortSignal): Promise<SendResult> {
    const to = notice.cameraId;
    // The edge agent's contract (contracts/commands.ts): a command it would refuse is not worth retrying.
    const parsed = PlayCommandSchema.safeParse({
      type: 'play',
      id: `${notice.eventId}:loudspeaker`,
      text,
      repeat: this.o.repeat,
      issuedAt: (this.o.now ?? Date.now)(),
    });
    if (!parsed.success)
      return {
        ok: false,
        to,
        permanent: true,
        error: `not a valid play command: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      };
    const cmd = parsed.data;
    const topic = cameraCommandsTopic({ district: notice.district, cameraId: notice.cameraId });
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    let onConnect: (() => void) | undefined;
    let onAbort: (() => void) | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(
                this.client.connected
                  ? `the broker did not acknowledge within ${this.o.timeoutMs} ms`
                  : `not connected to the broker ${this.target} within ${this.o.timeoutMs} ms`,
              ),
            ),
          this.o.timeoutMs,
        );
        onAbort = () => reject(new Error('aborted (the service is stopping)'));
        signal?.addEventListener('abort', onAbort, { once: true });
        const publish = () => {
          // Only while this attempt is still on: a command left in mqtt.js's offline queue would go out later
          // beside the retry.
          if (done) return;
          this.client.publishAsync(topic, JSON.stringify(cmd), { qos: 1 }).then(() => resolve(), reject);
        };
        if (this.client.connected) publish();
        else {
          onConnect = publish;
          this.client.once('connect', onConnect);
        }
      });
      return { ok: true, to };
    } catch (e) {
      // MQTT 5 PUBACK 0x87: the ACL does not let this account publish commands. Retried: an operator can fix it.
      if ((e as { code?: number }).code === 0x87) {
        return {
          ok: false,
          to,
          error: `the broker refused the command: account ${this.o.username ?? '(anonymous)'} may not publish on ${topic}`,
        };
      }
      return { ok: false, to, error: (e as Error).message };
    } finally {
      done = true;
      clearTimeout(timer);
      if (onConnect) this.client.off('connect', onConnect);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.client.endAsync(true);
  }
}
