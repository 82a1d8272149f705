// InfluxDB and Kafka are backed up by their own tools, run by the same script where the platform uses them
// (production: INFLUX_URL, KAFKA_BROKERS). InfluxDB: `influx backup` / `influx restore` of the readings bucket.
// Kafka holds only messages in flight between stages (each stage commits after its store has the result), so what
// is worth keeping is the description of its topics and consumer groups, written by kafka-topics.sh and
// kafka-consumer-groups.sh into the snapshot; the platform creates its topics again at start.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../runtime/config.js';
import type { Logger } from '../../runtime/log.js';
import type { Manifest } from './manifest.js';

export interface ExternalStores {
  backup(dir: string, log: Logger): Promise<Pick<Manifest, 'influxdb' | 'kafka'>>;
  restore(snapshot: string, m: Manifest, log: Logger): Promise<void>;
}

export interface ExternalEnv {
  INFLUX_URL?: string;
  INFLUX_ORG?: string;
  INFLUX_BUCKET?: string;
  /** An operator token: `influx backup` reads the server's metadata, which the platform's bucket tokens cannot. */
  INFLUX_BACKUP_TOKEN?: string;
  /** The influx CLI (default `influx` on PATH). */
  INFLUX_CLI?: string;
  KAFKA_BROKERS?: string;
  /** Kafka's bin/ folder (kafka-topics.sh, kafka-consumer-groups.sh); default $KAFKA_HOME/bin. */
  KAFKA_TOOLS?: string;
  KAFKA_HOME?: string;
  /** A client properties file for the tools (--command-config), for SASL or TLS brokers. */
  KAFKA_TOOLS_CONFIG?: string;
}

function run(cmd: string, args: string[], what: string, log: Logger): string {
  log.info(
    { cmd: [cmd, ...args.map((a, i) => (args[i - 1] === '--token' ? '***' : a))].join(' ') },
    `backup: running ${what}`,
  );
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw new ConfigError(`${what}: cannot run ${cmd} (${r.error.message})`);
  if (r.status !== 0)
    throw new ConfigError(
      `${what} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().split('\n').slice(-5).join('\n')}`,
    );
  return r.stdout;
}

/** The external stores the environment names, with their tools checked now; undefined in the embedded default. */
export function externalStoresFromEnv(env: ExternalEnv, o: { influxFull?: boolean } = {}): ExternalStores | undefined {
  const influx = env.INFLUX_URL
    ? (() => {
        if (!env.INFLUX_BACKUP_TOKEN)
          throw new ConfigError(
            'INFLUX_BACKUP_TOKEN: an InfluxDB operator token is needed to back up or restore InfluxDB (influx backup)',
          );
        const cli = env.INFLUX_CLI ?? 'influx';
        if (spawnSync(cli, ['version'], { encoding: 'utf8' }).status !== 0)
          throw new ConfigError(
            `INFLUX_CLI: the influx CLI (${cli}) does not run; install InfluxDB's influx CLI 2.x or set INFLUX_CLI`,
          );
        return {
          cli,
          url: env.INFLUX_URL,
          token: env.INFLUX_BACKUP_TOKEN,
          org: env.INFLUX_ORG ?? '',
          bucket: env.INFLUX_BUCKET ?? '',
        };
      })()
    : null;
  const kafka = env.KAFKA_BROKERS
    ? (() => {
        const bin = env.KAFKA_TOOLS ?? (env.KAFKA_HOME ? path.join(env.KAFKA_HOME, 'bin') : '');
        if (!bin || !fs.existsSync(path.join(bin, 'kafka-topics.sh'))) {
          throw new ConfigError(
            "KAFKA_TOOLS: Kafka's bin/ folder (kafka-topics.sh, kafka-consumer-groups.sh) is needed to record the topics and consumer groups; set KAFKA_TOOLS or KAFKA_HOME",
          );
        }
        return { bin, brokers: env.KAFKA_BROKERS, config: env.KAFKA_TOOLS_CONFIG };
      })()
    : null;
  if (!influx && !kafka) return undefined;
  return {
    async backup(dir, log) {
      const out: Pick<Manifest, 'influxdb' | 'kafka'> = {};
      if (influx) {
        const target = path.join(dir, 'influxdb');
        const args = ['backup', target, '--host', influx.url, '--token', influx.token];
        if (influx.bucket) args.push('--bucket', influx.bucket);
        if (influx.org) args.push('--org', influx.org);
        run(influx.cli, args, 'influx backup', log);
        out.influxdb = { dir: 'influxdb', bucket: influx.bucket, org: influx.org };
      }
      if (kafka) {
        const target = path.join(dir, 'kafka');
        fs.mkdirSync(target, { recursive: true });
        const common = [
          '--bootstrap-server',
          kafka.brokers,
          ...(kafka.config ? ['--command-config', kafka.config] : []),
        ];
        fs.writeFileSync(
          path.join(target, 'topics.txt'),
          run(path.join(kafka.bin, 'kafka-topics.sh'), [...common, '--describe'], 'kafka-topics.sh --describe', log),
        );
        fs.writeFileSync(
          path.join(target, 'consumer-groups.txt'),
          run(
            path.join(kafka.bin, 'kafka-consumer-groups.sh'),
            [...common, '--describe', '--all-groups'],
            'kafka-consumer-groups.sh --describe',
            log,
          ),
        );
        out.kafka = { dir: 'kafka', files: ['topics.txt', 'consumer-groups.txt'] };
      }
      return out;
    },
    async restore(snapshot, m, log) {
      if (influx && m.influxdb) {
        const args = ['restore', path.join(snapshot, m.influxdb.dir), '--host', influx.url, '--token', influx.token];
        // --full replaces everything on the server (tokens, users too): for a new server after a loss. Without it the
        // bucket is restored by name, which InfluxDB refuses while a bucket of that name exists.
        if (o.influxFull) args.push('--full');
        else if (m.influxdb.bucket) args.push('--bucket', m.influxdb.bucket);
        run(influx.cli, args, 'influx restore', log);
      } else if (m.influxdb) {
        log.warn(
          { dir: path.join(snapshot, m.influxdb.dir) },
          'restore: the backup holds InfluxDB data but INFLUX_URL is not set: restore it with influx restore',
        );
      }
      if (m.kafka) {
        log.info(
          { dir: path.join(snapshot, m.kafka.dir) },
          'restore: Kafka topics are created by the platform at start; the recorded topics and consumer groups are in this folder',
        );
      }
    },
  };
}
