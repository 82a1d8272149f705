// How the Kafka bus authenticates and encrypts: environment variables mapped onto librdkafka's own settings
// (security.protocol, sasl.*, ssl.*), applied to every client the bus makes (producer, consumers, admin). Nothing is
// set without them: the compose file's Kafka listens in plaintext on the host's private network.
import { z } from 'zod';
import { readPemFile } from '../runtime/tls.js';
import type { LibrdkafkaSettings } from './kafka.js';

const upper = (v: unknown) => (typeof v === 'string' ? v.toUpperCase() : v);

export const KafkaSecurityEnvSchema = z.object({
  /** librdkafka security.protocol: PLAINTEXT (default), SSL, SASL_PLAINTEXT or SASL_SSL. */
  KAFKA_SECURITY_PROTOCOL: z.preprocess(upper, z.enum(['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'])).optional(),
  /** sasl.mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (a username and password each). */
  KAFKA_SASL_MECHANISM: z.preprocess(upper, z.enum(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'])).optional(),
  KAFKA_SASL_USERNAME: z.string().min(1).optional(),
  KAFKA_SASL_PASSWORD: z.string().min(1).optional(),
  /** ssl.ca.location: the CA that signed the brokers' certificates (a city's own CA); else the system's CAs. */
  KAFKA_SSL_CA_FILE: z.string().min(1).optional(),
  /** ssl.certificate.location and ssl.key.location: a client certificate, for brokers that require one (mTLS). */
  KAFKA_SSL_CERT_FILE: z.string().min(1).optional(),
  KAFKA_SSL_KEY_FILE: z.string().min(1).optional(),
});

export type KafkaSecurityEnv = z.output<typeof KafkaSecurityEnvSchema>;

/** What is missing or contradictory in the settings, as [variable, message] pairs; empty when they are usable. */
export function kafkaSecurityProblems(e: KafkaSecurityEnv): [keyof KafkaSecurityEnv, string][] {
  const problems: [keyof KafkaSecurityEnv, string][] = [];
  const protocol = e.KAFKA_SECURITY_PROTOCOL ?? 'PLAINTEXT';
  const sasl = protocol.startsWith('SASL_');
  const ssl = protocol === 'SSL' || protocol === 'SASL_SSL';
  if (sasl) {
    if (!e.KAFKA_SASL_MECHANISM)
      problems.push(['KAFKA_SASL_MECHANISM', `is required with KAFKA_SECURITY_PROTOCOL=${protocol}`]);
    if (!e.KAFKA_SASL_USERNAME)
      problems.push(['KAFKA_SASL_USERNAME', `is required with KAFKA_SECURITY_PROTOCOL=${protocol}`]);
    if (!e.KAFKA_SASL_PASSWORD)
      problems.push(['KAFKA_SASL_PASSWORD', `is required with KAFKA_SECURITY_PROTOCOL=${protocol}`]);
  } else {
    for (const k of ['KAFKA_SASL_MECHANISM', 'KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'] as const) {
      if (e[k])
        problems.push([k, `is used only with KAFKA_SECURITY_PROTOCOL=SASL_SSL or SASL_PLAINTEXT (it is ${protocol})`]);
    }
  }
  if (!ssl) {
    for (const k of ['KAFKA_SSL_CA_FILE', 'KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE'] as const) {
      if (e[k]) problems.push([k, `is used only with KAFKA_SECURITY_PROTOCOL=SSL or SASL_SSL (it is ${protocol})`]);
    }
  }
  if (!!e.KAFKA_SSL_CERT_FILE !== !!e.KAFKA_SSL_KEY_FILE) {
    problems.push([
      e.KAFKA_SSL_CERT_FILE ? 'KAFKA_SSL_KEY_FILE' : 'KAFKA_SSL_CERT_FILE',
      'KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together',
    ]);
  }
  return problems;
}

/**
 * The librdkafka settings of `e` (checked with kafkaSecurityProblems first). The files are read once here so that a
 * missing one stops the start with the variable's name instead of a librdkafka error at the first connection.
 */
export function kafkaSecuritySettings(e: KafkaSecurityEnv): LibrdkafkaSettings {
  const s: LibrdkafkaSettings = {};
  if (!e.KAFKA_SECURITY_PROTOCOL) return s;
  s['security.protocol'] = e.KAFKA_SECURITY_PROTOCOL.toLowerCase();
  if (e.KAFKA_SASL_MECHANISM) s['sasl.mechanisms'] = e.KAFKA_SASL_MECHANISM;
  if (e.KAFKA_SASL_USERNAME) s['sasl.username'] = e.KAFKA_SASL_USERNAME;
  if (e.KAFKA_SASL_PASSWORD) s['sasl.password'] = e.KAFKA_SASL_PASSWORD;
  for (const [k, setting] of [
    ['KAFKA_SSL_CA_FILE', 'ssl.ca.location'],
    ['KAFKA_SSL_CERT_FILE', 'ssl.certificate.location'],
    ['KAFKA_SSL_KEY_FILE', 'ssl.key.location'],
  ] as const) {
    const file = e[k];
    if (file) {
      readPemFile(file, k);
      s[setting] = file;
    }
  }
  return s;
}
