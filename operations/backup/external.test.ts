// The external stores' part of the backup: Kafka's own tools (kafka-topics.sh, kafka-consumer-groups.sh) against the
// real test broker, and the settings InfluxDB's part needs refused with the variable to set. (`influx backup` itself
// is not run here: the influx CLI is not in Debian and its module is not served by the Go module proxy these
// machines use.)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../runtime/config.js';
import { silentLogger } from '../../runtime/log.js';
import { ROOT, tmpDir, uniq } from '../../test/helpers.js';
import { externalStoresFromEnv } from './external.js';

const dir = tmpDir('backup-external');
const KAFKA = path.join(ROOT, 'scripts/services.d/kafka.sh');
const topic = uniq('backup-topics-');
afterAll(() => {
  execFileSync(KAFKA, ['topics', '--delete', '--topic', topic], { stdio: 'ignore' });
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Kafka's bin/ as a distribution has it, made of the services script's tool commands (same classes). */
function kafkaBin(): string {
  const bin = path.join(dir, 'kafka-bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, 'kafka-topics.sh'), `#!/bin/sh\nexec "${KAFKA}" topics "$@"\n`, { mode: 0o755 });
  fs.writeFileSync(
    path.join(bin, 'kafka-consumer-groups.sh'),
    `#!/bin/sh\nexec "${KAFKA}" run org.apache.kafka.tools.consumer.group.ConsumerGroupCommand "$@"\n`,
    { mode: 0o755 },
  );
  return bin;
}

describe('external stores', () => {
  it("records Kafka's topics and consumer groups with Kafka's own tools", async () => {
    const brokers = process.env.KAFKA_BROKERS!;
    execFileSync(KAFKA, ['topics', '--create', '--topic', topic, '--partitions', '3', '--replication-factor', '1'], {
      stdio: 'ignore',
    });
    const ext = externalStoresFromEnv({ KAFKA_BROKERS: brokers, KAFKA_TOOLS: kafkaBin() })!;
    const snap = path.join(dir, 'snap');
    fs.mkdirSync(snap);
    const part = await ext.backup(snap, silentLogger);
    expect(part).toEqual({ kafka: { dir: 'kafka', files: ['topics.txt', 'consumer-groups.txt'] } });
    expect(fs.readFileSync(path.join(snap, 'kafka', 'topics.txt'), 'utf8')).toMatch(
      new RegExp(`Topic: ${topic}\\s.*PartitionCount: 3`),
    );
    expect(fs.existsSync(path.join(snap, 'kafka', 'consumer-groups.txt'))).toBe(true);
  });

  it('refuses to start without what InfluxDB and Kafka need, naming the variable', () => {
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
      }
      throw new Error('no error');
    };
    expect(err(() => externalStoresFromEnv({ INFLUX_URL: 'http://127.0.0.1:1' }))).toMatch(
      /^INFLUX_BACKUP_TOKEN: an InfluxDB operator token/,
    );
    expect(
      err(() =>
        externalStoresFromEnv({
          INFLUX_URL: 'http://127.0.0.1:1',
          INFLUX_BACKUP_TOKEN: 't',
          INFLUX_CLI: path.join(dir, 'no-influx'),
        }),
      ),
    ).toMatch(/^INFLUX_CLI: the influx CLI/);
    expect(err(() => externalStoresFromEnv({ KAFKA_BROKERS: '127.0.0.1:1', KAFKA_TOOLS: dir }))).toMatch(
      /^KAFKA_TOOLS: Kafka's bin\/ folder/,
    );
    expect(externalStoresFromEnv({})).toBeUndefined();
  });
});
