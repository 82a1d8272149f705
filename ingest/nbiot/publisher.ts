// The receiver's one MQTT connection. publish() resolves when the broker has acknowledged (PUBACK, QoS 1) and
// rejects at once when the broker is not connected, after a timeout when it does not answer, or when it refused the
// message: the push is then answered 503 and the platform retries, so a push is never acknowledged before its reading
// is safe. It speaks MQTT 5, whose PUBACK says when the broker refused a message (Mosquitto's ACL: 0x87 not
// authorized); an MQTT 3.1.1 PUBACK says nothing, and the reading would be answered 200 and lost. A broker that
// speaks only 3.1.1 (the embedded one) refuses MQTT 5 at the connection, and then gets 3.1.1.
import { redactUrl } from '../../runtime/url.js';
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
  private client: MqttClient;
  private lastError = '';
  private closed = false;

  constructor(private readonly o: MqttPublisherOptions) {
    this.client = this.connect(5);
  }

  private connect(protocolVersion: 4 | 5): MqttClient {
    const o = this.o;
    const client = mqtt.connect(o.url, {
      clientId: o.clientId,
      username: o.username,
      password: o.password,
      protocolVersion,
      keepalive: 30,
      reconnectPeriod: 1000,
      connectTimeout: 5000,
      ...mqttTlsOptions(o.caFile, 'mqtt.caFile'),
    });
    client.on('connect', () => {
      this.lastError = '';
      o.logger.info(
        { broker: redactUrl(o.url), clientId: o.clientId, mqtt: protocolVersion === 5 ? '5' : '3.1.1' },
        'nbiot receiver connected to the broker',
      );
    });
    client.on('offline', () =>
      o.logger.warn({ broker: redactUrl(o.url) }, 'broker unreachable: pushes are answered 503 until it is back'),
    );
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
      o.logger[repeat ? 'debug' : 'error']({ err: e.message }, 'mqtt error');
    });
    return client;
  }

  get connected(): boolean {
    return this.client.connected;
  }

  /** Resolves on the first connection, or rejects after ms. */
  async ready(ms: number): Promise<void> {
    // Polled: the client may be replaced by a 3.1.1 one on the way.
    const end = Date.now() + ms;
    while (!this.client.connected) {
      if (Date.now() > end) throw new PublishError(`broker ${redactUrl(this.o.url)} not reachable within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async publish(topic: string, payload: string): Promise<void> {
    if (!this.client.connected) throw new PublishError('broker not connected');
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.client.publishAsync(topic, payload, { qos: 1 }),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new PublishError(`broker did not acknowledge within ${this.o.timeoutMs} ms`)),
            this.o.timeoutMs,
          );
        }),
      ]);
    } catch (e) {
      if (e instanceof PublishError) throw e;
      // MQTT 5 PUBACK 0x87: the ACL does not let this account publish there (a wrong account, or a missing ACL line).
      if ((e as { code?: number }).code === 0x87) {
        throw new PublishError(
          `the broker refused the message: account ${this.o.username ?? '(anonymous)'} may not publish on ${topic}`,
        );
      }
      throw new PublishError((e as Error).message);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.client.endAsync(true);
  }
}
