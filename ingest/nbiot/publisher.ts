// The receiver's one MQTT connection. publish() resolves when the broker has acknowledged (PUBACK, QoS 1) and
// rejects at once when the broker is not connected, or after a timeout when it does not answer: the push is then
// answered 503 and the platform retries, so a push is never acknowledged before its reading is safe.
import { redactUrl } from '../../runtime/http.js';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from '../../runtime/log.js';
import { mqttTlsOptions } from '../../runtime/tls.js';

export interface Publisher {
  publish(topic: string, payload: string): Promise<void>;
  readonly connected: boolean;
  close(): Promise<void>;
}

export class PublishError extends Error {}

export interface MqttPublisherOptions {
  url: string;
  clientId: string;
  username?: string;
  password?: string;
  /** The CA trusted for an mqtts:// broker (PEM file; `mqtt.caFile`, MQTT_CA_FILE); else Node's public CAs. */
  caFile?: string;
  /** Longest wait for a PUBACK. */
  timeoutMs: number;
  logger: Logger;
}

export class MqttPublisher implements Publisher {
  private readonly client: MqttClient;
  private lastError = '';

  constructor(private readonly o: MqttPublisherOptions) {
    this.client = mqtt.connect(o.url, {
      clientId: o.clientId,
      username: o.username,
      password: o.password,
      keepalive: 30,
      reconnectPeriod: 1000,
      connectTimeout: 5000,
      ...mqttTlsOptions(o.caFile, 'mqtt.caFile'),
    });
    this.client.on('connect', () => {
      this.lastError = '';
      o.logger.info({ broker: redactUrl(o.url), clientId: o.clientId }, 'nbiot receiver connected to the broker');
    });
    this.client.on('offline', () => o.logger.warn({ broker: redactUrl(o.url) }, 'broker unreachable: pushes are answered 503 until it is back'));
    // A broker that is down fails every reconnect the same way: say it once.
    this.client.on('error', (e) => {
      const repeat = e.message === this.lastError;
      this.lastError = e.message;
      o.logger[repeat ? 'debug' : 'error']({ err: e.message }, 'mqtt error');
    });
  }

  get connected(): boolean {
    return this.client.connected;
  }

  /** Resolves on the first connection, or rejects after ms. */
  ready(ms: number): Promise<void> {
    if (this.client.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.client.off('connect', on);
        reject(new PublishError(`broker ${redactUrl(this.o.url)} not reachable within ${ms} ms`));
      }, ms);
      const on = () => {
        clearTimeout(t);
        resolve();
      };
      this.client.once('connect', on);
    });
  }

  async publish(topic: string, payload: string): Promise<void> {
    if (!this.client.connected) throw new PublishError('broker not connected');
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.client.publishAsync(topic, payload, { qos: 1 }),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new PublishError(`broker did not acknowledge within ${this.o.timeoutMs} ms`)), this.o.timeoutMs);
        }),
      ]);
    } catch (e) {
      throw e instanceof PublishError ? e : new PublishError((e as Error).message);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
