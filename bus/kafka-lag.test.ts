// bus_consumer_lag against the real Kafka of scripts/services: a handler stuck on its first batch shows every message
// of its partition as lag, and the lag goes back to 0 once it has caught up.
import { randomUUID } from 'node:crypto';
import Kafka from 'node-rdkafka';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../runtime/log.js';
import { messages } from './bus.contract.js';
import { KafkaBus } from './kafka.js';
import { BUS_TOPICS } from './types.js';

const brokers = process.env.KAFKA_BROKERS!;
const prefix = `lag${Date.now().toString(36)}${randomUUID().slice(0, 4)}.`;
afterAll(async () => {
  const admin = Kafka.AdminClient.create({ 'metadata.broker.list': brokers, 'client.id': 'bus-lag-test-cleanup' });
  await Promise.all(BUS_TOPICS.map((t) => new Promise<void>((r) => admin.deleteTopic(prefix + t, 10_000, () => r()))));
  admin.disconnect();
});

async function lagOf(registry: Registry, group: string): Promise<number | undefined> {
  const m = await registry.getSingleMetric('bus_consumer_lag')?.get();
  return m?.values.find((v) => v.labels.group === group && v.labels.topic === 'readings')?.value;
}

async function until(what: string, cond: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + 30_000;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('KafkaBus consumer lag', () => {
  it('counts what the handler has not finished, per topic and group', async () => {
    const registry = new Registry();
    const bus = await KafkaBus.start({ brokers, topicPrefix: prefix, partitions: 2, logger: silentLogger, registry });
    const run = randomUUID().slice(0, 8);
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let handled = 0;
    const group = `lag-${run}`;
    // One key: all 50 messages on one partition, the first batch of 10 held by the handler.
    await bus.publish('readings', messages(run, 0, 50, 1));
    const sub = await bus.subscribe(
      'readings',
      group,
      async (batch) => {
        await released;
        handled += batch.length;
      },
      { maxBatch: 10 },
    );
    try {
      await until('lag 50 while the handler is stuck', async () => (await lagOf(registry, group)) === 50);
      release();
      await until('all handled', async () => handled >= 50);
      await until('lag 0 once caught up', async () => (await lagOf(registry, group)) === 0);
      expect(handled).toBe(50);
    } finally {
      release();
      await sub.close();
      await bus.close();
    }
  });
});
