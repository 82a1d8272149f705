// Kafka SASL/TLS settings from the environment reach every librdkafka client of the bus (producer, consumers,
// admin); wrong combinations stop the start naming the variable. No SASL broker here: against the plaintext test
// Kafka, a bus told to speak TLS must fail to connect, which shows the setting is applied, not only passed around.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAppConfig } from '../app/config.js';
import { tmpDir } from '../test/helpers.js';
import { makeTestCa } from '../test/tls-certs.js';
import { silentLogger } from '../runtime/log.js';
import { createBus } from './index.js';
import { KafkaBus } from './kafka.js';
import { kafkaSecuritySettings } from './kafka-security.js';

const dir = tmpDir('kafka-security');
const env = (extra: Record<string, string>) => ({
  DATA_DIR: path.join(dir, 'data'),
  KAFKA_BROKERS: 'kafka.city.internal:9093',
  ...extra,
});

describe('Kafka security settings', () => {
  it('KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_* and KAFKA_SSL_* become librdkafka settings of the producer, the consumers and the admin client', () => {
    const ca = makeTestCa(dir, 'kafka');
    const cfg = loadAppConfig(
      env({
        KAFKA_SECURITY_PROTOCOL: 'sasl_ssl',
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: 'city-platform',
        KAFKA_SASL_PASSWORD: 'kafka-secret',
        KAFKA_SSL_CA_FILE: ca.caFile,
      }),
    );
    const expected = {
      'security.protocol': 'sasl_ssl',
      'sasl.mechanisms': 'SCRAM-SHA-512',
      'sasl.username': 'city-platform',
      'sasl.password': 'kafka-secret',
      'ssl.ca.location': ca.caFile,
    };
    expect(cfg.kafkaSecurity).toEqual(expected);
    // As the platform builds its bus (app/platform.ts: createBus({ kafka: { security } })), with per-client extras on top.
    const bus = new KafkaBus({
      brokers: cfg.KAFKA_BROKERS!,
      security: cfg.kafkaSecurity,
      consumerConfig: { 'fetch.max.bytes': 1 << 20 },
    });
    expect(bus.librdkafkaSettings('producer')).toEqual(expected);
    expect(bus.librdkafkaSettings('admin')).toEqual(expected);
    expect(bus.librdkafkaSettings('consumer')).toEqual({ ...expected, 'fetch.max.bytes': 1 << 20 });
    expect(bus.consumerSettings.extra).toEqual({ ...expected, 'fetch.max.bytes': 1 << 20 });
    // A client certificate (mTLS) and plain SSL.
    expect(
      kafkaSecuritySettings({
        KAFKA_SECURITY_PROTOCOL: 'SSL',
        KAFKA_SSL_CERT_FILE: ca.certFile,
        KAFKA_SSL_KEY_FILE: ca.keyFile,
      }),
    ).toEqual({
      'security.protocol': 'ssl',
      'ssl.certificate.location': ca.certFile,
      'ssl.key.location': ca.keyFile,
    });
    // Nothing set: nothing added (plaintext, as before).
    expect(loadAppConfig(env({})).kafkaSecurity).toEqual({});
  });

  it('refuses incomplete or contradictory settings and a missing file, naming the variable', () => {
    const bad: [Record<string, string>, RegExp][] = [
      [
        { KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' },
        /KAFKA_SASL_MECHANISM: is required with KAFKA_SECURITY_PROTOCOL=SASL_SSL/,
      ],
      [
        { KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT', KAFKA_SASL_MECHANISM: 'PLAIN', KAFKA_SASL_USERNAME: 'u' },
        /KAFKA_SASL_PASSWORD: is required/,
      ],
      [
        { KAFKA_SASL_USERNAME: 'u' },
        /KAFKA_SASL_USERNAME: is used only with KAFKA_SECURITY_PROTOCOL=SASL_SSL or SASL_PLAINTEXT \(it is PLAINTEXT\)/,
      ],
      [
        {
          KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT',
          KAFKA_SASL_MECHANISM: 'GSSAPI',
          KAFKA_SASL_USERNAME: 'u',
          KAFKA_SASL_PASSWORD: 'p',
        },
        /KAFKA_SASL_MECHANISM/,
      ],
      [{ KAFKA_SECURITY_PROTOCOL: 'TLS' }, /KAFKA_SECURITY_PROTOCOL/],
      [
        { KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CA_FILE: path.join(dir, 'no-ca.pem') },
        /KAFKA_SSL_CA_FILE: .*no-ca\.pem does not exist/,
      ],
      [
        { KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CERT_FILE: path.join(dir, 'c.pem') },
        /KAFKA_SSL_KEY_FILE: KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together/,
      ],
    ];
    for (const [extra, message] of bad) expect(() => loadAppConfig(env(extra)), JSON.stringify(extra)).toThrow(message);
  });

  it('the settings are applied to the real clients: a bus told to use TLS cannot talk to the plaintext test Kafka', async () => {
    const brokers = process.env.KAFKA_BROKERS;
    if (!brokers) throw new Error('KAFKA_BROKERS is not set: the global setup runs scripts/services up');
    const started = createBus({
      brokers,
      topicPrefix: 'tls-check.',
      logger: silentLogger,
      kafka: { security: { 'security.protocol': 'ssl' }, connectTimeoutMs: 3000 },
    });
    await expect(started).rejects.toThrow(/Kafka bus: cannot/);
  });
});
