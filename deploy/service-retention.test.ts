// The services' own retention, as scripts/services.d sets it, on scratch topics and a scratch bucket of the shared
// test services (never restarted here: other tests use them): Kafka topics get KAFKA_RETENTION_HOURS, frames topics
// KAFKA_FRAMES_RETENTION_HOURS; an InfluxDB bucket gets INFLUX_RETENTION. Bad values stop with the variable's name.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import Kafka from 'node-rdkafka';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../test/helpers.js';

const run = promisify(execFile);
const script = (name: string) => path.join(ROOT, 'scripts/services.d', `${name}.sh`);
const prefix = `ret${Date.now().toString(36)}${randomUUID().slice(0, 4)}.`;
const topics = [`${prefix}readings`, `${prefix}frames`];
const influxUrl = process.env.INFLUX_URL!;
const influxHeaders = { Authorization: `Token ${process.env.INFLUX_TOKEN}`, 'Content-Type': 'application/json' };
let bucketId: string | undefined;

afterAll(async () => {
  const admin = Kafka.AdminClient.create({
    'metadata.broker.list': process.env.KAFKA_BROKERS!,
    'client.id': 'retention-test-cleanup',
  });
  await Promise.all(topics.map((t) => new Promise<void>((r) => admin.deleteTopic(t, 10_000, () => r()))));
  admin.disconnect();
  if (bucketId) await fetch(`${influxUrl}/api/v2/buckets/${bucketId}`, { method: 'DELETE', headers: influxHeaders });
});

describe('Kafka topic retention (kafka.sh)', () => {
  it('sets KAFKA_RETENTION_HOURS on topics and KAFKA_FRAMES_RETENTION_HOURS on frames topics', async () => {
    const admin = Kafka.AdminClient.create({
      'metadata.broker.list': process.env.KAFKA_BROKERS!,
      'client.id': 'retention-test',
    });
    await Promise.all(
      topics.map(
        (topic) =>
          new Promise<void>((resolve, reject) =>
            admin.createTopic({ topic, num_partitions: 1, replication_factor: 1 }, 10_000, (e) =>
              e ? reject(e) : resolve(),
            ),
          ),
      ),
    );
    admin.disconnect();
    const env = { ...process.env, KAFKA_RETENTION_HOURS: '48', KAFKA_FRAMES_RETENTION_HOURS: '2' };
    await run(script('kafka'), ['retention', ...topics], { env, timeout: 120_000 });
    const describe = async (t: string) =>
      (await run(script('kafka'), ['topics', '--describe', '--topic', t], { timeout: 60_000 })).stdout;
    expect(await describe(topics[0]!)).toMatch(/retention\.ms=172800000\b/);
    expect(await describe(topics[1]!)).toMatch(/retention\.ms=7200000\b/);
  }, 240_000);

  it('refuses hours that are not a whole number, naming the variable', async () => {
    const e = await run(script('kafka'), ['retention', topics[0]!], {
      env: { ...process.env, KAFKA_RETENTION_HOURS: '1.5' },
    }).catch((x: { stderr: string }) => x);
    expect((e as { stderr: string }).stderr).toMatch(/KAFKA_RETENTION_HOURS=1\.5 is not a whole number of hours/);
  });
});

describe('InfluxDB bucket retention (influxdb.sh)', () => {
  it('sets INFLUX_RETENTION on a bucket, and 0 back to for ever', async () => {
    const orgs = (await (
      await fetch(`${influxUrl}/api/v2/orgs?org=${process.env.INFLUX_ORG}`, { headers: influxHeaders })
    ).json()) as { orgs: { id: string }[] };
    const name = `retention-${randomUUID().slice(0, 8)}`;
    const created = await fetch(`${influxUrl}/api/v2/buckets`, {
      method: 'POST',
      headers: influxHeaders,
      body: JSON.stringify({ orgID: orgs.orgs[0]!.id, name, retentionRules: [] }),
    });
    bucketId = ((await created.json()) as { id: string }).id;
    const rules = async () =>
      (
        (await (await fetch(`${influxUrl}/api/v2/buckets/${bucketId}`, { headers: influxHeaders })).json()) as {
          retentionRules: { everySeconds: number }[];
        }
      ).retentionRules;
    await run(script('influxdb'), ['retention', name], { env: { ...process.env, INFLUX_RETENTION: '30d' } });
    expect((await rules())[0]?.everySeconds).toBe(30 * 86400);
    await run(script('influxdb'), ['retention', name], { env: { ...process.env, INFLUX_RETENTION: '0' } });
    expect((await rules())[0]?.everySeconds ?? 0).toBe(0);
  });

  it('refuses a retention it cannot read, naming the variable', async () => {
    const e = await run(script('influxdb'), ['retention', 'readings'], {
      env: { ...process.env, INFLUX_RETENTION: '90 days' },
    }).catch((x: { stderr: string }) => x);
    expect((e as { stderr: string }).stderr).toMatch(/INFLUX_RETENTION=90 days: use 0/);
  });
});
